// How fast the DP noise source fills a table's key space: nanoseconds per noised value for
// GaussianNoise::AddTo (ChaCha20 keystream, Box–Muller, snapping), beside std::mt19937_64 +
// std::normal_distribution (not secure; the familiar peer) measured in the same run.
// Usage: noise_bench [KEYS=1048576] [REPEATS=7]; prints the median of REPEATS runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <vector>

#include "privacy/noise.h"

namespace {
template <class F>
double MedianNsPerValue(std::size_t keys, int repeats, F&& fill) {
  std::vector<double> ns;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fill();
    const std::chrono::duration<double, std::nano> dt = std::chrono::steady_clock::now() - t0;
    ns.push_back(dt.count() / static_cast<double>(keys));
  }
  std::sort(ns.begin(), ns.end());
  return ns[ns.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t keys = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (1u << 20);
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  std::vector<float> f(keys, 0.0f);
  std::vector<double> d(keys, 0.0);
  auto noise = ecps::privacy::GaussianNoise::FromEntropy();
  if (!noise.ok()) {
    std::fprintf(stderr, "%s\n", noise.status().ToString().c_str());
    return 1;
  }
  const double secure_f = MedianNsPerValue(keys, repeats, [&] { noise->AddTo(std::span<float>(f), 1.0); });
  const double secure_d = MedianNsPerValue(keys, repeats, [&] { noise->AddTo(std::span<double>(d), 1.0); });
  std::mt19937_64 gen(1);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double peer = MedianNsPerValue(keys, repeats, [&] {
    for (auto& x : f) x = static_cast<float>(x + normal(gen));
  });
  std::printf("keys=%zu repeats=%d (median)\n", keys, repeats);
  std::printf("GaussianNoise::AddTo float   %.2f ns/value  (%.1f ms per clock)\n", secure_f, secure_f * keys / 1e6);
  std::printf("GaussianNoise::AddTo double  %.2f ns/value  (%.1f ms per clock)\n", secure_d, secure_d * keys / 1e6);
  std::printf("mt19937_64 + normal_distribution (not secure)  %.2f ns/value\n", peer);
  std::printf("ratio secure/peer (float)  %.2f\n", secure_f / peer);
  return 0;
}
