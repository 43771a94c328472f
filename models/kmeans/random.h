// Random numbers of the k-means job (internal to models/kmeans): functions of their inputs
// only, so every worker, thread and run draws the same.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ecps::models::kmeans {

/// SplitMix64's finaliser.
inline std::uint64_t Mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Random numbers that depend only on (seed, round, user): the same whatever the split of
/// the users across workers and threads. Uniform in (0, 1).
/// UniformFor(seed, round, user) = UniformFromKey(RoundKey(seed, round), user): the key once
/// per loop over users.
inline std::uint64_t RoundKey(std::uint64_t seed, std::uint64_t round) {
  return Mix64(seed) ^ Mix64(round * 0x9e3779b97f4a7c15ull + 1);
}
inline double UniformFromKey(std::uint64_t key, std::uint64_t user_hash) {
  const std::uint64_t h = Mix64(key ^ user_hash);
  return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}
inline double UniformFor(std::uint64_t seed, std::uint64_t round, std::uint64_t user_hash) {
  return UniformFromKey(RoundKey(seed, round), user_hash);
}

/// flags[i] = UniformFromKey(key, hashes[i]) < p for i in [0, n), vectorised where the CPU
/// allows (the same flags on every CPU).
void FlagBelow(const std::uint64_t* hashes, std::size_t n, std::uint64_t key, double p,
               std::uint8_t* flags);

}  // namespace ecps::models::kmeans
