#include "privacy/poisson_sampling.h"

#include <sys/random.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace ecps::privacy {
namespace {

constexpr std::uint32_t Rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

void QuarterRound(std::array<std::uint32_t, 16>& s, int a, int b, int c, int d) {
  s[a] += s[b]; s[d] ^= s[a]; s[d] = Rotl(s[d], 16);
  s[c] += s[d]; s[b] ^= s[c]; s[b] = Rotl(s[b], 12);
  s[a] += s[b]; s[d] ^= s[a]; s[d] = Rotl(s[d], 8);
  s[c] += s[d]; s[b] ^= s[c]; s[b] = Rotl(s[b], 7);
}

}  // namespace

Result<SamplingKey> RandomSamplingKey() {
  SamplingKey key{};
  auto* bytes = reinterpret_cast<unsigned char*>(key.data());
  std::size_t got = 0;
  while (got < sizeof(key)) {
    const ssize_t n = getrandom(bytes + got, sizeof(key) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(fmt::format("getrandom: {}", std::strerror(errno)));
    }
    got += static_cast<std::size_t>(n);
  }
  return key;
}

SamplingKey TestSamplingKey(std::uint64_t seed) {
  SamplingKey key{};
  for (std::size_t i = 0; i < key.size(); i += 2) {
    // SplitMix64, with a different start than the noise's test keys.
    seed += 0x9e3779b97f4a7c15ULL ^ 0x5a3b1e;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    key[i] = static_cast<std::uint32_t>(z);
    key[i + 1] = static_cast<std::uint32_t>(z >> 32);
  }
  return key;
}

std::array<std::uint32_t, 16> ChaCha20Block(const SamplingKey& key, std::uint32_t counter,
                                            const std::array<std::uint32_t, 3>& nonce) {
  std::array<std::uint32_t, 16> in{0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; ++i) in[4 + i] = key[i];
  in[12] = counter;
  for (int i = 0; i < 3; ++i) in[13 + i] = nonce[i];
  std::array<std::uint32_t, 16> s = in;
  for (int round = 0; round < 10; ++round) {
    QuarterRound(s, 0, 4, 8, 12);
    QuarterRound(s, 1, 5, 9, 13);
    QuarterRound(s, 2, 6, 10, 14);
    QuarterRound(s, 3, 7, 11, 15);
    QuarterRound(s, 0, 5, 10, 15);
    QuarterRound(s, 1, 6, 11, 12);
    QuarterRound(s, 2, 7, 8, 13);
    QuarterRound(s, 3, 4, 9, 14);
  }
  for (int i = 0; i < 16; ++i) s[i] += in[i];
  return s;
}

PoissonSampler::PoissonSampler(const SamplingKey& key, double sample_rate)
    : key_(key), q_(sample_rate), log1m_q_(std::log1p(-sample_rate)) {}

void PoissonSampler::Steps(std::uint64_t id, std::uint32_t window, std::uint32_t steps,
                           std::vector<std::uint32_t>* out) const {
  if (!(q_ > 0)) return;
  const std::array<std::uint32_t, 3> nonce{static_cast<std::uint32_t>(id), static_cast<std::uint32_t>(id >> 32),
                                           window};
  double next = -1;  // the last step joined (-1: the window's start)
  for (std::uint32_t j = 0;; ++j) {
    double gap = 1;  // q = 1: every step
    if (q_ < 1) {
      const auto block = ChaCha20Block(key_, j, nonce);
      const std::uint64_t bits = (static_cast<std::uint64_t>(block[1]) << 32) | block[0];
      const double u = static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;  // (0, 1]
      // P(gap > k) = (1 − q)^k: the failures before a success, plus one.
      gap = std::floor(std::log(u) / log1m_q_) + 1;
    }
    next += gap;
    if (!(next < static_cast<double>(steps))) return;
    out->push_back(static_cast<std::uint32_t>(next));
  }
}

}  // namespace ecps::privacy
