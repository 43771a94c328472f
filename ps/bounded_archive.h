// BoundedInputArchive: reads what cereal::BinaryOutputArchive wrote, from bytes that may have
// been crafted: a control payload a peer sent, or a model file's payload (models/common/model_file.h).
//
// Cereal's own binary input archive trusts every length prefix: two bytes that announce a
// vector of 2^40 elements make it allocate before it finds the data missing, and a bool is
// loaded from whatever byte is there. This archive reads from a byte view and refuses, by
// throwing cereal::Exception before anything is allocated:
//  - a length prefix (vector, string, map, ...) larger than the bytes left: every element a
//    payload here holds takes at least one byte, so a payload of n bytes can make the decoder
//    allocate at most n elements;
//  - a bool stored as a byte other than 0 or 1;
//  - reading past the end.
// Everything else decodes exactly as with cereal::BinaryInputArchive.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include <cereal/archives/binary.hpp>
#include <cereal/cereal.hpp>

namespace ecps::ps {

class BoundedInputArchive
    : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(std::string_view bytes)
      : cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision>(this),
        next_(bytes.data()),
        left_(bytes.size()) {}

  /// Copies the next `size` bytes to `out`; throws when fewer are left.
  void LoadBinary(void* out, std::size_t size) {
    if (size > left_) {
      throw cereal::Exception("payload ends early: " + std::to_string(size) + " bytes wanted, " +
                              std::to_string(left_) + " left");
    }
    if (size > 0) std::memcpy(out, next_, size);
    next_ += size;
    left_ -= size;
  }
  /// Bytes not read yet.
  std::size_t left() const { return left_; }

 private:
  const char* next_;
  std::size_t left_;
};

// Cereal's hooks for the archive (found by argument-dependent lookup on the archive type).

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>> CEREAL_LOAD_FUNCTION_NAME(
    BoundedInputArchive& ar, T& t) {
  ar.LoadBinary(std::addressof(t), sizeof(t));
}

inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, bool& b) {
  unsigned char byte = 0;
  ar.LoadBinary(&byte, 1);
  if (byte > 1) throw cereal::Exception("a flag is " + std::to_string(byte) + ", not 0 or 1");
  b = byte == 1;
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& t) {
  cereal::size_type size = 0;
  ar.LoadBinary(&size, sizeof size);
  if (size > ar.left()) {
    throw cereal::Exception("a count of " + std::to_string(size) + " elements, but only " +
                            std::to_string(ar.left()) + " bytes follow");
  }
  t.size = static_cast<std::remove_reference_t<T>>(size);
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.LoadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace ecps::ps

// Values saved in minimal form (enums) are read back as BinaryOutputArchive wrote them.
namespace cereal::traits::detail {
template <>
struct get_output_from_input<ecps::ps::BoundedInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
