// Flat binary payloads for the large control messages of collaborative filtering (the
// shuffle of interactions, the workers' reports): sections of plain arrays written into one
// owned blob with a single copy and read back as views into the received blob, without the
// extra copies a Cereal archive makes.
//
// Layout: u64 section count, u64 byte size per section, then each section padded to 8 bytes.
// Both ends run the same binary, so there is no byte-order conversion.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ps/message.h"
#include "ps/status.h"

namespace ecps::models::cf {

class PodWriter {
 public:
  /// Adds an array; `v` must stay alive until Finish().
  template <class T>
  PodWriter& Add(std::span<const T> v) {
    static_assert(std::is_trivially_copyable_v<T>);
    parts_.push_back({reinterpret_cast<const std::byte*>(v.data()), v.size_bytes(), false});
    return *this;
  }
  template <class T>
  PodWriter& Add(const std::vector<T>& v) { return Add(std::span<const T>(v)); }
  /// Adds one value (copied now).
  template <class T>
  PodWriter& AddValue(const T& v) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
    std::uint64_t slot = 0;
    std::memcpy(&slot, &v, sizeof(T));
    values_.push_back(slot);
    parts_.push_back({nullptr, sizeof(T), true});
    return *this;
  }
  ps::Blob Finish() const;

 private:
  struct Part {
    const std::byte* data;
    std::size_t bytes;
    bool is_value;  // the bytes are the next entry of values_
  };
  std::vector<Part> parts_;
  std::vector<std::uint64_t> values_;
};

/// Allocates a payload whose sections have the given byte sizes, for filling in place
/// (no intermediate copy); (*at)[i] points at section i. PodReader reads it back.
ps::Blob AllocateSections(std::span<const std::size_t> bytes, std::vector<std::byte*>* at);

class PodReader {
 public:
  /// Checks the section table against the blob's size; `blob` must outlive the reader and
  /// every span it returns.
  static Result<PodReader> Open(const ps::Blob& blob);

  template <class T>
  Result<std::span<const T>> Next() {
    ECPS_ASSIGN_OR_RETURN(auto raw, NextRaw());
    if (raw.size() % sizeof(T) != 0) {
      return Internal(fmt::format("payload section {} has {} bytes, not a multiple of {}", next_ - 1,
                                  raw.size(), sizeof(T)));
    }
    return std::span<const T>(reinterpret_cast<const T*>(raw.data()), raw.size() / sizeof(T));
  }
  template <class T>
  Result<std::vector<T>> NextVector() {
    ECPS_ASSIGN_OR_RETURN(auto s, Next<T>());
    return std::vector<T>(s.begin(), s.end());
  }
  template <class T>
  Result<T> NextValue() {
    ECPS_ASSIGN_OR_RETURN(auto raw, NextRaw());
    if (raw.size() != sizeof(T)) return Internal("payload value of the wrong size");
    T v;
    std::memcpy(&v, raw.data(), sizeof(T));
    return v;
  }

 private:
  Result<std::span<const std::byte>> NextRaw();
  const std::byte* base_ = nullptr;
  std::vector<std::uint64_t> sizes_;
  std::vector<std::uint64_t> offsets_;
  std::size_t next_ = 0;
};

}  // namespace ecps::models::cf
