#include "privacy/poisson_sampling.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "privacy/per_x86_level.h"

namespace ecps::privacy {
namespace {

// Rotations and rounds on one 32-bit word or on lanes of them (GCC/Clang vector extensions).
// (In place: a 64-byte vector passed by value would change the ABI between the copies of
// ChaCha20Blocks.)
template <class W>
inline void Rotl(W& x, int n) { x = (x << n) | (x >> (32 - n)); }

template <class W>
inline void QuarterRound(W* s, int a, int b, int c, int d) {
  s[a] += s[b]; s[d] ^= s[a]; Rotl(s[d], 16);
  s[c] += s[d]; s[b] ^= s[c]; Rotl(s[b], 12);
  s[a] += s[b]; s[d] ^= s[a]; Rotl(s[d], 8);
  s[c] += s[d]; s[b] ^= s[c]; Rotl(s[b], 7);
}

// The 20 rounds of the block function on state `s`.
template <class W>
inline void Rounds(W* s) {
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
}

constexpr std::uint32_t kSigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};

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
  std::array<std::uint32_t, 16> in{kSigma[0], kSigma[1], kSigma[2], kSigma[3]};
  for (int i = 0; i < 8; ++i) in[4 + i] = key[i];
  in[12] = counter;
  for (int i = 0; i < 3; ++i) in[13 + i] = nonce[i];
  std::array<std::uint32_t, 16> s = in;
  Rounds(s.data());
  for (int i = 0; i < 16; ++i) s[i] += in[i];
  return s;
}

namespace {

// Sixteen 32-bit lanes: the ChaCha20 blocks of sixteen nonces at once (one AVX-512 register,
// two AVX2 or four SSE2 / NEON ones).
using Lanes = std::uint32_t __attribute__((vector_size(64)));
constexpr int kLanes = 16;

// ChaCha20Block(key, counter, nonces[l]) for each lane l (integer arithmetic: the same blocks
// at every x86-64 level).
ECPS_PER_X86_LEVEL
void ChaCha20Blocks(const SamplingKey& key, std::uint32_t counter,
                    const std::array<std::array<std::uint32_t, 3>, kLanes>& nonces,
                    std::array<std::array<std::uint32_t, 16>, kLanes>* out) {
  Lanes in[16];
  for (int i = 0; i < 4; ++i) in[i] = Lanes{} + kSigma[i];
  for (int i = 0; i < 8; ++i) in[4 + i] = Lanes{} + key[i];
  in[12] = Lanes{} + counter;
  for (int i = 0; i < 3; ++i) {
    for (int l = 0; l < kLanes; ++l) in[13 + i][l] = nonces[l][i];
  }
  Lanes s[16];
  for (int i = 0; i < 16; ++i) s[i] = in[i];
  Rounds(s);
  for (int i = 0; i < 16; ++i) {
    const Lanes v = s[i] + in[i];
    for (int l = 0; l < kLanes; ++l) (*out)[l][i] = v[l];
  }
}

std::array<std::uint32_t, 3> Nonce(std::uint64_t id, std::uint32_t window) {
  return {static_cast<std::uint32_t>(id), static_cast<std::uint32_t>(id >> 32), window};
}

}  // namespace

PoissonSampler::PoissonSampler(const SamplingKey& key, double sample_rate)
    : key_(key), q_(sample_rate), log1m_q_(std::log1p(-sample_rate)) {}

double PoissonSampler::NoneBelow(std::uint32_t steps) const {
  // (1 − q)^steps: a first uniform at most this makes the first gap > steps (no step joined).
  return q_ < 1 ? std::exp(static_cast<double>(steps) * log1m_q_) : 0;
}

template <class Emit>
void PoissonSampler::Walk(const std::array<std::uint32_t, 16>& block0, const std::array<std::uint32_t, 3>& nonce,
                          std::uint32_t steps, double none_below, Emit&& emit) const {
  if (q_ >= 1) {
    for (std::uint32_t s = 0; s < steps; ++s) emit(s);
    return;
  }
  std::array<std::uint32_t, 16> block = block0;
  double next = -1;  // the last step joined (-1: the window's start)
  for (std::uint32_t j = 0;; ++j) {
    const std::uint32_t w = j % 8;
    if (w == 0 && j > 0) block = ChaCha20Block(key_, j / 8, nonce);
    const std::uint64_t bits = (static_cast<std::uint64_t>(block[2 * w + 1]) << 32) | block[2 * w];
    const double u = static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;  // (0, 1]
    if (j == 0 && u <= none_below) return;
    // P(gap > k) = (1 − q)^k: the failures before a success, plus one.
    next += std::floor(std::log(u) / log1m_q_) + 1;
    if (!(next < static_cast<double>(steps))) return;
    emit(static_cast<std::uint32_t>(next));
  }
}

void PoissonSampler::Steps(std::uint64_t id, std::uint32_t window, std::uint32_t steps,
                           std::vector<std::uint32_t>* out) const {
  if (!(q_ > 0)) return;
  const auto nonce = Nonce(id, window);
  const auto block0 = q_ < 1 ? ChaCha20Block(key_, 0, nonce) : std::array<std::uint32_t, 16>{};
  Walk(block0, nonce, steps, NoneBelow(steps), [&](std::uint32_t s) { out->push_back(s); });
}

void PoissonSampler::StepsOfMany(std::span<const std::uint64_t> ids, std::uint32_t window, std::uint32_t steps,
                                 std::vector<Join>* out) const {
  if (!(q_ > 0)) return;
  const double none_below = NoneBelow(steps);
  std::array<std::array<std::uint32_t, 3>, kLanes> nonces;
  std::array<std::array<std::uint32_t, 16>, kLanes> blocks{};
  for (std::size_t i = 0; i < ids.size(); i += kLanes) {
    const std::size_t m = std::min<std::size_t>(kLanes, ids.size() - i);
    for (std::size_t l = 0; l < kLanes; ++l) nonces[l] = Nonce(ids[i + std::min(l, m - 1)], window);
    if (q_ < 1) ChaCha20Blocks(key_, 0, nonces, &blocks);
    for (std::size_t l = 0; l < m; ++l) {
      const auto index = static_cast<std::uint32_t>(i + l);
      Walk(blocks[l], nonces[l], steps, none_below, [&](std::uint32_t s) { out->push_back({index, s}); });
    }
  }
}

}  // namespace ecps::privacy
