// The k-means assignment kernels in isolation, on one thread: the float64 Assign (kernel.h)
// and the float32 screen (screen.h) with its exact fallback, on seeded synthetic points like
// bench_kmeans.py's (planted clusters with overlap). Prints ms per pass over all points
// (median of --reps), the share of points the screen leaves unsure, and checks that both give
// the same labels.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/kmeans/kernel.h"
#include "models/kmeans/screen.h"

namespace km = ecps::models::kmeans;

namespace {

// Milliseconds per call of f: the median of `reps` calls, and the fastest (less disturbed by
// other processes on a shared machine).
struct Ms {
  double median, fastest;
};
template <class F>
Ms Time(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k-means assignment kernels: float64 Assign vs the float32 screen"};
  std::size_t n = 1000000, d = 8, k = 16;
  int reps = 9;
  double sigma = 1.5;
  std::size_t chunk = 2048;
  app.add_option("--users", n, "points")->capture_default_str();
  app.add_option("--dim", d, "features")->capture_default_str();
  app.add_option("--k", k, "centroids")->capture_default_str();
  app.add_option("--sigma", sigma, "spread of the planted clusters (centres uniform in [-5, 5])")
      ->capture_default_str();
  app.add_option("--reps", reps, "timed passes (median)")->capture_default_str();
  app.add_option("--chunk", chunk, "points per call (as the Lloyd loop's tasks)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  chunk = std::max<std::size_t>(km::kScreenBlock, chunk / km::kScreenBlock * km::kScreenBlock);

  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> uni(-5, 5);
  std::normal_distribution<double> g(0, sigma);
  std::vector<double> centres(k * d), x(n * d), c(k * d), norms(n), mean(d, 0.0);
  for (auto& v : centres) v = uni(rng);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = rng() % k;
    for (std::size_t f = 0; f < d; ++f) {
      x[i * d + f] = centres[j * d + f] + g(rng);
      mean[f] += x[i * d + f] / static_cast<double>(n);
    }
  }
  for (std::size_t j = 0; j < k; ++j) {  // initial centroids: k of the points
    const std::size_t at = j * 7919 % n;
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(at * d), d, c.begin() + static_cast<std::ptrdiff_t>(j * d));
  }
  km::SquaredNorms(x.data(), n, d, norms.data());
  km::CentroidPanel panel;
  panel.Set(c, k, d);

  std::vector<std::int32_t> ref(n), lab(n);
  std::vector<double> d2(n);
  const Ms assign_ms = Time(reps, [&] {
    for (std::size_t i = 0; i < n; i += chunk) {
      const std::size_t m = std::min(chunk, n - i);
      km::Assign(x.data() + i * d, norms.data() + i, m, panel, ref.data() + i, d2.data() + i);
    }
  });
  std::printf("float64 Assign (%s): %.2f ms per pass, fastest %.2f (%zu x %zu, k = %zu)\n", km::KernelName().c_str(),
              assign_ms.median, assign_ms.fastest, n, d, k);
  if (!km::ScreenAvailable()) {
    std::printf("screen: not available on this CPU\n");
    return 0;
  }
  double r2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t f = 0; f < d; ++f) s += (x[i * d + f] - mean[f]) * (x[i * d + f] - mean[f]);
    r2 = std::max(r2, s);
  }
  km::ScreenPoints pts;
  pts.Reset(n, d, mean, std::exp2(-std::ceil(std::log2(std::sqrt(r2)))));
  pts.Fill(x.data(), 0, pts.blocks());
  km::ScreenPanel sp;
  if (!sp.Set(c, k, pts)) {
    std::printf("screen: refused these centroids\n");
    return 1;
  }
  // Steady state of the Lloyd loop: labels already right, so only unsure points need work.
  std::vector<std::int32_t> next(chunk);
  std::vector<std::uint16_t> todo(chunk / km::kScreenBlock), unsure(chunk / km::kScreenBlock);
  std::size_t unsure_points = 0, changed = 0;
  auto screen_pass = [&](bool count) {
    for (std::size_t i = 0; i < n; i += chunk) {
      const std::size_t b0 = i / km::kScreenBlock, b1 = std::min(pts.blocks(), (i + chunk) / km::kScreenBlock);
      km::Screen(pts, sp, b0, b1, lab.data() + i, next.data(), todo.data(), unsure.data());
      for (std::size_t b = 0; b < b1 - b0; ++b) {
        for (unsigned m = todo[b]; m != 0; m &= m - 1) {
          const auto lane = static_cast<std::size_t>(__builtin_ctz(m));
          const std::size_t p = i + b * km::kScreenBlock + lane;
          const bool u = (unsure[b] >> lane) & 1u;
          lab[p] = u ? km::NearestCentroid(x.data() + p * d, panel) : next[b * km::kScreenBlock + lane];
          if (count) {
            unsure_points += u;
            changed += !u;
          }
        }
      }
    }
  };
  std::fill(lab.begin(), lab.end(), -1);
  screen_pass(true);
  const std::size_t mismatches = [&] {
    std::size_t m = 0;
    for (std::size_t i = 0; i < n; ++i) m += lab[i] != ref[i];
    return m;
  }();
  const Ms screen_ms = Time(reps, [&] { screen_pass(false); });
  const Ms kernel_ms = Time(reps, [&] {
    for (std::size_t i = 0; i < n; i += chunk) {
      const std::size_t b0 = i / km::kScreenBlock, b1 = std::min(pts.blocks(), (i + chunk) / km::kScreenBlock);
      km::Screen(pts, sp, b0, b1, lab.data() + i, next.data(), todo.data(), unsure.data());
    }
  });
  std::printf("float32 screen alone: %.2f ms per pass, fastest %.2f\n", kernel_ms.median, kernel_ms.fastest);
  std::printf(
      "float32 screen + exact fallback: %.2f ms per pass, fastest %.2f; unsure %zu of %zu points (%.2g); "
      "labels differing from Assign: %zu\n",
      screen_ms.median, screen_ms.fastest, unsure_points, n,
      static_cast<double>(unsure_points) / static_cast<double>(n), mismatches);
  return mismatches == 0 ? 0 : 1;
}
