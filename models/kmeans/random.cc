#include "models/kmeans/random.h"

namespace ecps::models::kmeans {
namespace {

// The loop of FlagBelow, compiled for the baseline and for AVX-512 (8 users per register).
__attribute__((always_inline)) inline void FlagBelowLoop(const std::uint64_t* hashes, std::size_t n,
                                                         std::uint64_t key, double p,
                                                         std::uint8_t* flags) {
  for (std::size_t i = 0; i < n; ++i) flags[i] = UniformFromKey(key, hashes[i]) < p;
}
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"))) void FlagBelowAvx512(
    const std::uint64_t* hashes, std::size_t n, std::uint64_t key, double p, std::uint8_t* flags) {
  FlagBelowLoop(hashes, n, key, p, flags);
}

}  // namespace

void FlagBelow(const std::uint64_t* hashes, std::size_t n, std::uint64_t key, double p,
               std::uint8_t* flags) {
  static const bool avx512 = __builtin_cpu_supports("avx512dq") &&
                             __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl");
  if (avx512) return FlagBelowAvx512(hashes, n, key, p, flags);
  FlagBelowLoop(hashes, n, key, p, flags);
}

}  // namespace ecps::models::kmeans
