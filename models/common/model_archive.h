// Reading a model payload that may have been crafted: a Cereal input archive over the
// payload bytes, in the format of cereal::BinaryOutputArchive, that refuses instead of
// trusting the bytes. Every count (a vector's or string's size) must fit in the bytes that
// remain, so nothing larger than a small multiple of the file is allocated; a bool must be
// 0 or 1; reading past the end throws. Errors are cereal::Exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include <cereal/archives/binary.hpp>
#include <cereal/cereal.hpp>

namespace ecps::models {

class ModelInputArchive
    : public cereal::InputArchive<ModelInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit ModelInputArchive(std::string_view bytes)
      : cereal::InputArchive<ModelInputArchive, cereal::AllowEmptyClassElision>(this),
        bytes_(bytes) {}

  void LoadBinary(void* data, std::size_t size) {
    if (size > remaining()) {
      throw cereal::Exception("the payload ends inside a value (" + std::to_string(size) +
                              " bytes wanted, " + std::to_string(remaining()) + " left)");
    }
    if (size > 0) std::memcpy(data, bytes_.data() + pos_, size);
    pos_ += size;
  }
  /// Bytes not read yet.
  std::size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>
CEREAL_LOAD_FUNCTION_NAME(ModelInputArchive& ar, T& t) {
  ar.LoadBinary(std::addressof(t), sizeof t);
}

inline void CEREAL_LOAD_FUNCTION_NAME(ModelInputArchive& ar, bool& b) {
  std::uint8_t v = 0;
  ar.LoadBinary(&v, 1);
  if (v > 1) throw cereal::Exception("a flag is " + std::to_string(v) + ", not 0 or 1");
  b = v == 1;
}

template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(ModelInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

/// A count: every element takes at least one byte of what follows.
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(ModelInputArchive& ar, cereal::SizeTag<T>& t) {
  std::uint64_t n = 0;
  ar.LoadBinary(&n, sizeof n);
  if (n > ar.remaining()) {
    throw cereal::Exception("a count of " + std::to_string(n) + " elements, but only " +
                            std::to_string(ar.remaining()) + " bytes follow");
  }
  t.size = static_cast<std::remove_reference_t<T>>(n);
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(ModelInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.LoadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace ecps::models

// The archive it reads is BinaryOutputArchive's (for the minimal load of enums); only this
// direction: BinaryOutputArchive's input archive stays BinaryInputArchive.
namespace cereal::traits::detail {
template <>
struct get_output_from_input<ecps::models::ModelInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
