// The noise source: its distribution (fixed test seeds, so the bounds cannot flake), the grid
// its results lie on, and that entropy-keyed streams differ.
#include "privacy/noise.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace ecps::privacy {
namespace {

struct Moments {
  double mean = 0, variance = 0, within_one_sd = 0;
};

template <class T>
Moments Measure(const std::vector<T>& v, double center, double sd) {
  Moments m;
  const auto n = static_cast<double>(v.size());
  for (T x : v) m.mean += static_cast<double>(x);
  m.mean /= n;
  for (T x : v) {
    const double d = static_cast<double>(x) - center;
    m.variance += d * d;
    if (std::abs(d) <= sd) m.within_one_sd += 1;
  }
  m.variance /= n;
  m.within_one_sd /= n;
  return m;
}

constexpr std::size_t kN = 200001;  // odd: the last sample comes from an unpaired draw

TEST(GaussianNoise, AddsNoiseOfTheStatedStandardDeviationToEveryValue) {
  for (std::uint64_t seed : {1, 2, 3}) {
    auto noise = GaussianNoise::FromTestSeed(seed);
    std::vector<double> v(kN, 5.0);
    noise.AddTo(std::span<double>(v), 3.0);
    const Moments m = Measure(v, 5.0, 3.0);
    // Sampling sd of the mean: 3/sqrt(n) = 0.0067; of variance/9: sqrt(2/n) = 0.0032;
    // of the share within one sd: 0.001. Each bound is 5 of those.
    EXPECT_NEAR(m.mean, 5.0, 0.034) << "seed " << seed;
    EXPECT_NEAR(m.variance / 9.0, 1.0, 0.016) << "seed " << seed;
    EXPECT_NEAR(m.within_one_sd, 0.682689, 0.0052) << "seed " << seed;
    std::size_t unchanged = 0;
    for (double x : v) unchanged += x == 5.0;
    // A value stays 5 when its noise rounds to 0 on the grid 2^-11: P = 2^-11 / (3 sqrt(2 pi))
    // = 6.5e-5, expected 13.0 of 200,001 (Poisson sd 3.6; 5 sd above: 31).
    EXPECT_LE(unchanged, 31u);
  }
}

TEST(GaussianNoise, FloatValuesGetTheSameDistribution) {
  auto noise = GaussianNoise::FromTestSeed(11);
  std::vector<float> v(kN, 0.0f);
  noise.AddTo(std::span<float>(v), 0.5);
  const Moments m = Measure(v, 0.0, 0.5);
  EXPECT_NEAR(m.mean, 0.0, 0.0056);
  EXPECT_NEAR(m.variance / 0.25, 1.0, 0.016);
}

TEST(GaussianNoise, NoisyValuesLieOnThePowerOfTwoGrid) {
  EXPECT_EQ(GaussianNoise::SnapGrid(1.0), std::ldexp(1.0, -12));
  EXPECT_EQ(GaussianNoise::SnapGrid(1.5), std::ldexp(1.0, -12));
  EXPECT_EQ(GaussianNoise::SnapGrid(0.99), std::ldexp(1.0, -13));
  EXPECT_EQ(GaussianNoise::SnapGrid(40.0), std::ldexp(1.0, 5 - 12));
  auto noise = GaussianNoise::FromTestSeed(5);
  std::vector<double> v(10000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(i) + 1e-9;
  const double sd = 2.5, grid = GaussianNoise::SnapGrid(sd);
  noise.AddTo(std::span<double>(v), sd);
  for (double x : v) ASSERT_EQ(std::fmod(x, grid), 0.0) << x;
}

TEST(GaussianNoise, ATestSeedReplaysAndEntropyDoesNot) {
  auto a = GaussianNoise::FromTestSeed(9), b = GaussianNoise::FromTestSeed(9);
  auto c = GaussianNoise::FromTestSeed(10);
  std::vector<double> x(1000), y(1000), z(1000);
  a.Standard(x);
  b.Standard(y);
  c.Standard(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  auto e1 = GaussianNoise::FromEntropy(), e2 = GaussianNoise::FromEntropy();
  ASSERT_TRUE(e1.ok() && e2.ok());
  std::vector<double> p(1000), q(1000);
  e1->Standard(p);
  e2->Standard(q);
  EXPECT_NE(p, q);
  EXPECT_NE(p, x);
}

TEST(GaussianNoise, StandardSamplesAreIndependentAcrossRefills) {
  // More than one 64 KiB keystream block: neighbouring samples are uncorrelated.
  auto noise = GaussianNoise::FromTestSeed(3);
  std::vector<double> z(kN);
  noise.Standard(z);
  double lag1 = 0;
  for (std::size_t i = 1; i < z.size(); ++i) lag1 += z[i] * z[i - 1];
  lag1 /= static_cast<double>(z.size() - 1);
  EXPECT_NEAR(lag1, 0.0, 5.0 / std::sqrt(static_cast<double>(kN)));
}

TEST(GaussianNoise, ZigguratSamplesFollowTheNormalCdfIntoTheTails) {
  // The ziggurat's layers, wedges and tail (beyond 3.654) together: the share of N samples
  // below t against Phi(t) at t in -5 .. 5, each within 5 sampling sds sqrt(p(1 - p) / N)
  // (at t = 0: 5 * 3.5e-4; at t = -4, Phi = 3.2e-5: 5 * 4.0e-6).
  constexpr std::size_t kSamples = 2000000;
  auto noise = GaussianNoise::FromTestSeed(21);
  std::vector<double> z(kSamples);
  noise.Standard(z);
  for (double t = -5.0; t <= 5.0; t += 0.25) {
    std::size_t below = 0;
    for (double v : z) below += v < t;
    const double p = 0.5 * std::erfc(-t / std::sqrt(2.0));
    const double sd = std::sqrt(p * (1 - p) / static_cast<double>(kSamples));
    EXPECT_NEAR(static_cast<double>(below) / kSamples, p, 5 * sd + 1e-9) << "t = " << t;
  }
  // The tail past R = 3.654 is reached on both sides: P(|z| > 3.654) = 2.58e-4, expected 516
  // of 2M (Poisson sd 22.7: 5 sd is 114).
  std::size_t tail = 0;
  for (double v : z) tail += std::abs(v) > 3.6541528853610088;
  EXPECT_NEAR(static_cast<double>(tail), 516.0, 114.0);
}

// The vectorised sampler (a copy per x86-64 level) against the ziggurat written out plainly
// here: the first refill's 8192 words of a test-seeded stream (its key as FromTestSeed derives
// it, the ChaCha20 keystream from OpenSSL) give 8192 samples, one word each where the first
// try lands in its layer's core (~99%); those must match bit for bit, and the others must be
// the ones rejected here.
TEST(GaussianNoise, SamplesAreThePlainZigguratsBitForBit) {
  constexpr std::uint64_t kSeed = 7;
  constexpr std::size_t kWords = 8192;
  std::array<unsigned char, 32> key{};
  std::uint64_t seed = kSeed;
  for (std::size_t i = 0; i < key.size(); i += 8) {
    seed += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(key.data() + i, &z, 8);
  }
  std::vector<std::uint64_t> words(kWords, 0);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const std::array<unsigned char, 16> iv{};
  int written = 0;
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, key.data(), iv.data()), 1);
  auto* bytes = reinterpret_cast<unsigned char*>(words.data());
  ASSERT_EQ(EVP_EncryptUpdate(ctx, bytes, &written, bytes, static_cast<int>(kWords * 8)), 1);
  EVP_CIPHER_CTX_free(ctx);
  // Marsaglia & Tsang's 256-layer table.
  constexpr double kR = 3.6541528853610088, kV = 4.92867323399e-3;
  std::array<double, 257> x{};
  x[0] = kV / std::exp(-0.5 * kR * kR);
  x[1] = kR;
  for (int i = 1; i < 255; ++i) {
    x[i + 1] = std::sqrt(-2.0 * std::log(kV / x[i] + std::exp(-0.5 * x[i] * x[i])));
  }
  x[256] = 0.0;

  std::vector<double> got(kWords);
  GaussianNoise::FromTestSeed(kSeed).Standard(got);
  std::size_t rejected = 0;
  for (std::size_t j = 0; j < kWords; ++j) {
    const std::uint64_t w = words[j];
    const std::size_t i = w & 0xff;
    const double v = static_cast<double>(w >> 11) * 0x1.0p-53 * x[i];
    if (v < x[i + 1]) {
      EXPECT_EQ(got[j], (w & 0x100) != 0 ? -v : v) << j;
    } else {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0u);
  EXPECT_LT(rejected, kWords / 20);
}

// AddSnapped (a copy per x86-64 level) against the snapping written out with std::nearbyint.
TEST(GaussianNoise, SnappingIsTheRoundingToTheGridBitForBit) {
  const double stddev = 1.551;
  const double grid = GaussianNoise::SnapGrid(stddev);
  std::vector<double> normals(1000);
  GaussianNoise::FromTestSeed(3).Standard(normals);
  std::vector<float> values(normals.size()), want(normals.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int exponent = static_cast<int>(i % 40) - 20;  // values from 2^-20 to 2^28
    const double value = i % 7 == 0 ? 0.0 : std::ldexp(static_cast<double>(i) - 500.0, exponent);
    values[i] = static_cast<float>(value);
    const double noisy = static_cast<double>(values[i]) + stddev * normals[i];
    want[i] = static_cast<float>(std::nearbyint(noisy / grid) * grid);
  }
  GaussianNoise::AddSnapped(values, normals, stddev);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], want[i]) << i;
}

}  // namespace
}  // namespace ecps::privacy
