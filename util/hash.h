// Stable hashing of feature names and ids: the same value on every platform, process and run
// (hashed feature keys, user ownership and seeded choices depend on it, and so do saved models).
#pragma once

#include <cstdint>
#include <string_view>

namespace ecps::util {

/// 64-bit hash of a feature name or id, stable across platforms and runs (FNV-1a followed
/// by a MurmurHash3 finaliser for avalanche). `seed` separates hash spaces (e.g. fields).
std::uint64_t HashFeature(std::string_view feature, std::uint64_t seed = 0);
/// Mixes an integer id (MurmurHash3 finaliser); for hashing user ids into buckets. Inline:
/// the readers call it once per feature.
inline std::uint64_t MixId(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}
/// Maps a hash to a bucket in [0, num_buckets) without modulo bias worth caring about.
inline std::uint64_t HashToBucket(std::uint64_t hash, std::uint64_t num_buckets) {
  __extension__ using U128 = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<U128>(hash) * num_buckets) >> 64);
}

}  // namespace ecps::util
