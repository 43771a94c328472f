// How fast DP-SGD's server noise is.
//  1. The noise source on one thread: ns per noised value (and values per second) of
//     GaussianNoise::AddTo (ChaCha20 keystream, ziggurat, snapping), beside Box–Muller on the
//     same ChaCha20 bits (the method ecps used before) and std::mt19937_64 +
//     std::normal_distribution (not secure; the familiar peer), measured in the same run.
//  2. One DP-SGD step on a server (MiniBatchFinalizer, FTRL, all threads): noise and the rule on
//     every key of 2^18 .. 2^22 keys, beside the same clock without DP (the rule on the pushed
//     keys only), each clock with PUSHED random keys pushed (back to back, so the normals the
//     step draws ahead for the next one are drawn within the timed steps).
//  3. The noise on a clock (DpNoise::AddTo, all threads) with the normals drawn at the clock,
//     and with them drawn ahead (DrawAhead, not timed): what drawing ahead takes off a clock.
// Usage: noise_bench [KEYS=4194304] [REPEATS=5] [PUSHED=200000]; prints medians of REPEATS.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "bench/privacy/median_ms.h"
#include "models/lr/lr_dp.h"
#include "models/lr/lr_update.h"
#include "privacy/noise.h"

namespace {

using ecps::bench::MedianMs;

// Box–Muller on 53-bit uniforms from a ChaCha20 keystream, snapped like AddTo.
class BoxMullerChaCha {
 public:
  BoxMullerChaCha() : ctx_(EVP_CIPHER_CTX_new()) {
    const std::array<unsigned char, 32> key{1};
    const std::array<unsigned char, 16> iv{};
    if (EVP_EncryptInit_ex(ctx_, EVP_chacha20(), nullptr, key.data(), iv.data()) != 1) std::abort();
  }
  ~BoxMullerChaCha() { EVP_CIPHER_CTX_free(ctx_); }
  BoxMullerChaCha(const BoxMullerChaCha&) = delete;
  BoxMullerChaCha& operator=(const BoxMullerChaCha&) = delete;

  void AddTo(std::span<float> values, double stddev) {
    const double grid = ecps::privacy::GaussianNoise::SnapGrid(stddev);
    for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
      const double r = std::sqrt(-2.0 * std::log(Uniform()));
      const double theta = 2.0 * std::numbers::pi * Uniform();
      values[i] = static_cast<float>(std::nearbyint((values[i] + stddev * r * std::cos(theta)) / grid) * grid);
      values[i + 1] = static_cast<float>(std::nearbyint((values[i + 1] + stddev * r * std::sin(theta)) / grid) * grid);
    }
  }

 private:
  double Uniform() {
    if (next_ == words_.size()) {
      std::memset(words_.data(), 0, sizeof(words_));
      auto* bytes = reinterpret_cast<unsigned char*>(words_.data());
      int written = 0;
      if (EVP_EncryptUpdate(ctx_, bytes, &written, bytes, static_cast<int>(sizeof(words_))) != 1) std::abort();
      next_ = 0;
    }
    return static_cast<double>((words_[next_++] >> 11) + 1) * 0x1.0p-53;
  }
  EVP_CIPHER_CTX* ctx_;
  std::array<std::uint64_t, 8192> words_{};
  std::size_t next_ = 8192;
};

void NoiseSource(std::size_t keys, int repeats) {
  std::vector<float> f(keys, 0.0f);
  std::vector<double> d(keys, 0.0);
  auto noise = ecps::privacy::GaussianNoise::FromEntropy();
  if (!noise.ok()) {
    std::fprintf(stderr, "%s\n", noise.status().ToString().c_str());
    std::exit(1);
  }
  const double n = static_cast<double>(keys);
  const double secure_f = MedianMs(repeats, [&] { noise->AddTo(std::span<float>(f), 1.0); }) * 1e6 / n;
  const double secure_d = MedianMs(repeats, [&] { noise->AddTo(std::span<double>(d), 1.0); }) * 1e6 / n;
  BoxMullerChaCha box_muller;
  const double bm = MedianMs(repeats, [&] { box_muller.AddTo(f, 1.0); }) * 1e6 / n;
  std::mt19937_64 gen(1);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double peer = MedianMs(repeats, [&] {
    for (auto& x : f) x = static_cast<float>(x + normal(gen));
  }) * 1e6 / n;
  std::printf("noise source, one thread: keys=%zu repeats=%d (median)\n", keys, repeats);
  std::printf("  GaussianNoise::AddTo float (ziggurat)     %6.2f ns/value  %6.1f M values/s\n", secure_f, 1e3 / secure_f);
  std::printf("  GaussianNoise::AddTo double (ziggurat)    %6.2f ns/value  %6.1f M values/s\n", secure_d, 1e3 / secure_d);
  std::printf("  Box-Muller on ChaCha20, snapped (before)  %6.2f ns/value  %6.1f M values/s\n", bm, 1e3 / bm);
  std::printf("  mt19937_64 + normal_distribution (not secure)  %6.2f ns/value\n", peer);
  std::printf("  ratio ziggurat / Box-Muller %.2f, ziggurat / mt19937 %.2f\n", secure_f / bm, secure_f / peer);
}

// One clock of FTRL on a server of `keys` keys with `pushed` random keys pushed.
double StepMs(std::size_t keys, std::size_t pushed, bool dp, int repeats) {
  using namespace ecps::models::lr;
  UpdateOptions u;  // FTRL, the default
  MiniBatchFinalizer fin(u);
  ecps::models::lr::DpServerParams params;
  params.stddev = 1.0;
  params.steps = 1u << 30;
  if (dp && !fin.EnableDp(params, 0).ok()) std::abort();
  std::mt19937_64 gen(7);
  std::vector<ecps::ps::Key> pushed_keys(pushed);
  for (auto& k : pushed_keys) k = gen() % keys;
  std::sort(pushed_keys.begin(), pushed_keys.end());
  pushed_keys.erase(std::unique(pushed_keys.begin(), pushed_keys.end()), pushed_keys.end());
  const std::vector<float> grads(pushed_keys.size(), 0.5f);
  std::vector<float> values(keys, 0.0f);
  std::vector<float> aggregate(keys, 0.0f);
  ecps::ps::FinalizeContext ctx;
  ctx.range = {0, keys};
  ctx.width = 1;
  return MedianMs(repeats, [&] {
    ecps::ps::RowSpan<float> rows{aggregate.data(), nullptr, 1, 0, 0, pushed_keys.data(), 0, pushed_keys.size()};
    fin.Accumulate(rows, grads.data());
    fin.Finalize(ctx, aggregate, values);
    ++ctx.clock;
  });
}

// DpNoise::AddTo over `keys` values (all threads): the ms a clock spends in it when it draws
// the normals itself, and when DrawAhead drew them before the clock (not timed: a server draws
// them while the workers compute).
std::pair<double, double> ClockNoiseMs(std::size_t keys, int repeats) {
  ecps::models::lr::DpServerParams params;
  auto noise = ecps::models::lr::DpNoise::Make(params, 0);
  if (!noise.ok()) std::abort();
  std::vector<float> v(keys, 0.0f);
  const double at_clock = MedianMs(repeats, [&] { noise->AddTo(v, 1.0); });
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    noise->DrawAhead(keys);
    noise->WaitAhead();
    ms.push_back(MedianMs(1, [&] { noise->AddTo(v, 1.0); }));
  }
  std::sort(ms.begin(), ms.end());
  return {at_clock, ms[ms.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t keys = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (1u << 22);
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::size_t pushed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 200000;
  NoiseSource(keys, repeats);
  std::printf("one DP-SGD step on a server (FTRL, all threads, %zu keys pushed; median of %d):\n", pushed, repeats);
  std::printf("  %-8s %10s %12s %12s %10s\n", "keys", "DP ms", "DP ns/key", "no-DP ms", "DP/no-DP");
  for (int bits = 18; bits <= 22; ++bits) {
    const std::size_t n = std::size_t{1} << bits;
    const double with = StepMs(n, pushed, true, repeats);
    const double without = StepMs(n, pushed, false, repeats);
    std::printf("  2^%-6d %10.2f %12.2f %12.2f %10.1f\n", bits, with, with * 1e6 / static_cast<double>(n), without,
                with / without);
  }
  std::printf("the noise on a server's clock (DpNoise::AddTo, all threads; median of %d):\n", repeats);
  std::printf("  %-8s %16s %20s\n", "keys", "drawn at clock ms", "drawn ahead ms");
  for (int bits = 18; bits <= 22; ++bits) {
    const auto [at_clock, ahead] = ClockNoiseMs(std::size_t{1} << bits, repeats);
    std::printf("  2^%-6d %16.2f %20.2f\n", bits, at_clock, ahead);
  }
  return 0;
}
