// The k-means kernels: every vectorised path gives the bits of the portable one, agrees with a
// brute-force nearest centroid, and cluster sums on the grid are exact in any order.
#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "models/kmeans/kernel.h"
#include "models/kmeans/local_kmeans.h"
#include "models/kmeans/quality.h"
#include "models/kmeans/random.h"

namespace ecps::models::kmeans {
namespace {

struct Case {
  std::vector<double> x, c, norms;
  std::size_t n, d, k;
};

Case Make(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  Case t{std::vector<double>(n * d), std::vector<double>(k * d), std::vector<double>(n), n, d, k};
  for (auto& v : t.x) v = g(rng);
  for (auto& v : t.c) v = g(rng);
  SquaredNorms(t.x.data(), n, d, t.norms.data());
  return t;
}

struct Out {
  std::vector<std::int32_t> labels;
  std::vector<double> d2;
};

Out RunAssign(const Case& t, KernelKind kind) {
  CentroidPanel p;
  p.Set(t.c, t.k, t.d);
  Out o{std::vector<std::int32_t>(t.n), std::vector<double>(t.n)};
  Assign(t.x.data(), t.norms.data(), t.n, p, o.labels.data(), o.d2.data(), kind);
  return o;
}

TEST(KMeansKernel, EveryPathGivesTheSameBitsAsThePortableOne) {
  // Shapes that exercise partial blocks of points, tiles of 4 and 8 centroids and padding,
  // and dimensions on both sides of the AVX-512 register kernel's limit of 8.
  for (std::size_t d : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 12u, 17u}) {
    for (std::size_t k : {1u, 2u, 3u, 5u, 8u, 13u, 16u, 37u}) {
      const Case t = Make(203, d, k, 1000 * d + k);
      const Out portable = RunAssign(t, KernelKind::kPortable);
      const Out avx2 = RunAssign(t, KernelKind::kAvx2);
      const Out best = RunAssign(t, KernelKind::kAuto);
      for (std::size_t i = 0; i < t.n; ++i) {
        ASSERT_EQ(portable.labels[i], avx2.labels[i]) << "d " << d << " k " << k << " point " << i;
        ASSERT_EQ(portable.labels[i], best.labels[i]) << "d " << d << " k " << k << " point " << i;
        ASSERT_EQ(std::bit_cast<std::uint64_t>(portable.d2[i]), std::bit_cast<std::uint64_t>(avx2.d2[i]));
        ASSERT_EQ(std::bit_cast<std::uint64_t>(portable.d2[i]), std::bit_cast<std::uint64_t>(best.d2[i]));
      }
    }
  }
  std::cout << "kernel in use: " << KernelName() << "\n";
}

TEST(KMeansKernel, AgreesWithBruteForceNearestCentroid) {
  const Case t = Make(1000, 6, 11, 7);
  const Out o = RunAssign(t, KernelKind::kAuto);
  for (std::size_t i = 0; i < t.n; ++i) {
    std::vector<double> dist(t.k);
    for (std::size_t j = 0; j < t.k; ++j) {
      double s = 0;
      for (std::size_t f = 0; f < t.d; ++f) s += (t.x[i * t.d + f] - t.c[j * t.d + f]) * (t.x[i * t.d + f] - t.c[j * t.d + f]);
      dist[j] = s;
    }
    const auto best = static_cast<std::size_t>(std::min_element(dist.begin(), dist.end()) - dist.begin());
    EXPECT_EQ(o.labels[i], static_cast<std::int32_t>(best)) << "point " << i;
    EXPECT_NEAR(o.d2[i], dist[best], 1e-12 * (1 + t.norms[i]));
  }
}

TEST(KMeansKernel, TiesGoToTheLowestIndex) {
  // Two identical centroids: every point must pick the first; a point on a centroid has 0.
  Case t = Make(64, 3, 4, 3);
  std::copy(t.c.begin(), t.c.begin() + 3, t.c.begin() + 6);  // centroid 2 = centroid 0
  std::copy(t.c.begin(), t.c.begin() + 3, t.x.begin());      // point 0 on centroid 0
  SquaredNorms(t.x.data(), t.n, t.d, t.norms.data());
  for (auto kind : {KernelKind::kPortable, KernelKind::kAvx2, KernelKind::kAuto}) {
    const Out o = RunAssign(t, kind);
    for (std::size_t i = 0; i < t.n; ++i) EXPECT_NE(o.labels[i], 2);
    EXPECT_EQ(o.labels[0], 0);
    EXPECT_LE(o.d2[0], 1e-12);
  }
}

TEST(KMeansKernel, SumsOnTheGridAreExactInAnyOrderAndSplit) {
  const std::size_t n = 5000, d = 5, k = 7;
  Case t = Make(n, d, k, 11);
  const double grid = std::ldexp(1.0, FixedExponent(10.0, n));
  for (auto& v : t.x) v = SnapToGrid(std::clamp(v, -10.0, 10.0), grid);
  std::vector<std::int32_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int32_t>((i * 7919) % k);
  auto sums = [&](const std::vector<std::size_t>& order, std::size_t chunk, KernelKind kind) {
    std::vector<double> x, acc(k * (d + 1), 0.0);
    std::vector<std::int32_t> l;
    for (std::size_t i : order) {
      x.insert(x.end(), t.x.begin() + static_cast<std::ptrdiff_t>(i * d), t.x.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
      l.push_back(labels[i]);
    }
    for (std::size_t b = 0; b < n; b += chunk) {
      std::vector<double> part(k * (d + 1), 0.0);
      AccumulateSums(x.data() + b * d, std::min(chunk, n - b), d, l.data() + b, k, part.data(), kind);
      for (std::size_t j = 0; j < part.size(); ++j) acc[j] += part[j];
    }
    return acc;
  };
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  const auto a = sums(order, n, KernelKind::kAuto);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(5));
  const auto b = sums(order, 97, KernelKind::kPortable);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t j = 0; j < a.size(); ++j) EXPECT_EQ(a[j], b[j]) << "entry " << j;
}

TEST(KMeansKernel, SumsAndNormsInOnePassMatchTheSeparateSums) {
  // Every d on both sides of the vectorised limit of 8; each path against AccumulateSums plus
  // a plain loop over the norms, bit for bit (grid values: the sums are exact).
  for (std::size_t d : {1u, 3u, 8u, 9u}) {
    const std::size_t n = 3001, k = 6;
    Case t = Make(n, d, k, 40 + d);
    const double grid = std::ldexp(1.0, FixedExponent(10.0, n));
    for (auto& v : t.x) v = SnapToGrid(std::clamp(v, -10.0, 10.0), grid);
    std::vector<std::int32_t> labels(n);
    std::vector<std::int64_t> q(n);
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = static_cast<std::int32_t>((i * 7919 + i / 5) % k);
      q[i] = static_cast<std::int64_t>((i * 2654435761u) % (1u << 30));
    }
    std::vector<double> expect(k * (d + 1), 0.0);
    std::vector<std::int64_t> expect_q(k, 0);
    AccumulateSums(t.x.data(), n, d, labels.data(), k, expect.data(), KernelKind::kPortable);
    for (std::size_t i = 0; i < n; ++i) expect_q[static_cast<std::size_t>(labels[i])] += q[i];
    for (auto kind : {KernelKind::kPortable, KernelKind::kAvx2, KernelKind::kAuto}) {
      std::vector<double> acc(k * (d + 1), 0.0);
      std::vector<std::int64_t> acc_q(k, 0);
      AccumulateSumsAndNorms(t.x.data(), q.data(), n, d, labels.data(), k, acc.data(), acc_q.data(), kind);
      EXPECT_EQ(acc, expect) << "d " << d;
      EXPECT_EQ(acc_q, expect_q) << "d " << d;
    }
  }
}

TEST(KMeansKernel, FixedExponentKeepsTotalsBelow2To53) {
  for (double bound : {1e-9, 0.5, 1.0, 3.0, 1e6}) {
    for (std::uint64_t count : {1ull, 1000ull, 1000000ull, 1ull << 40}) {
      const int e = FixedExponent(bound, count);
      EXPECT_LT(std::ldexp(bound, e) * static_cast<double>(count), std::ldexp(1.0, 53)) << bound << " " << count;
      EXPECT_LT(std::ldexp(bound, e), std::ldexp(1.0, 51));
      EXPECT_GE(std::ldexp(bound, e + 2) * static_cast<double>(count + 1), std::ldexp(1.0, 51))
          << "the grid should be as fine as the bound allows";
    }
  }
  EXPECT_EQ(ToFixed(2.5, 1.0), 2);  // round half to even
  EXPECT_EQ(ToFixed(-3.5, 1.0), -4);
  EXPECT_EQ(SnapToGrid(0.3, 4.0), 0.25);
}

TEST(KMeansQuality, SilhouetteAndDaviesBouldinMatchHandComputedValues) {
  // Two clusters on a line: {0, 1} and {10, 12}.
  const std::vector<double> x = {0, 1, 10, 12};
  const std::vector<std::int32_t> l = {0, 0, 1, 1};
  // s(0): a = 1, b = (10 + 12) / 2 = 11; s(1): a = 1, b = 10; s(2): a = 2, b = 9.5; s(3): a = 2, b = 11.5.
  const double expect = ((11 - 1) / 11.0 + (10 - 1) / 10.0 + (9.5 - 2) / 9.5 + (11.5 - 2) / 11.5) / 4;
  EXPECT_NEAR(Silhouette(x, l, 1, 2), expect, 1e-15);
  // Centroids 0.5 and 11, mean distances 0.5 and 1: DB = (0.5 + 1) / 10.5 for both.
  EXPECT_NEAR(DaviesBouldin({0.5, 11}, {0.5, 1.0}, {2, 2}, 1), 1.5 / 10.5, 1e-15);
  EXPECT_TRUE(std::isnan(Silhouette(x, {0, 0, 0, 0}, 1, 2)));
  EXPECT_TRUE(std::isnan(DaviesBouldin({0.5, 11}, {0.5, 1.0}, {4, 0}, 1)));
}

// Against the definition, summed in plain order (the result's last bits may differ: the
// sums are in another order), on clusters whose sizes are not multiples of 4, with a
// singleton cluster (its s is 0) and an empty one.
TEST(KMeansQuality, SilhouetteMatchesTheDefinition) {
  const std::size_t n = 301, d = 3, k = 6;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> x(n * d);
  std::vector<std::int32_t> l(n);
  for (std::size_t i = 0; i < n; ++i) {
    l[i] = i == 0 ? 4 : static_cast<std::int32_t>(rng() % 4);  // cluster 5 stays empty
    for (std::size_t f = 0; f < d; ++f) x[i * d + f] = 4.0 * l[i] + g(rng);
  }
  std::vector<std::size_t> size(k, 0);
  for (auto c : l) ++size[static_cast<std::size_t>(c)];
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> sum(k, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      sum[static_cast<std::size_t>(l[j])] += std::sqrt(SquaredDistance(&x[i * d], &x[j * d], d));
    }
    const auto own = static_cast<std::size_t>(l[i]);
    if (size[own] < 2) continue;
    const double a = sum[own] / static_cast<double>(size[own] - 1);
    double b = INFINITY;
    for (std::size_t c = 0; c < k; ++c) {
      if (c != own && size[c] > 0) b = std::min(b, sum[c] / static_cast<double>(size[c]));
    }
    total += (b - a) / std::max(a, b);
  }
  EXPECT_NEAR(Silhouette(x, l, d, k), total / n, 1e-12);
}

// The vectorised flags are UniformFor's comparisons, for thresholds across (0, 1).
TEST(KMeansInit, FlagBelowIsUniformForBelowTheThreshold) {
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> hashes(1003);
  for (auto& h : hashes) h = rng();
  std::vector<std::uint8_t> flags(hashes.size());
  for (const double p : {1e-6, 0.01, 0.5, 0.999}) {
    FlagBelow(hashes.data(), hashes.size(), RoundKey(42, 1ull << 30), p, flags.data());
    std::size_t set = 0;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      ASSERT_EQ(flags[i] != 0, UniformFor(42, 1ull << 30, hashes[i]) < p) << i << " " << p;
      set += flags[i];
    }
    // About p n set: within 5 sd = 5 sqrt(n p (1 - p)) (at p = 0.5: 79 of 1003).
    const double n = static_cast<double>(hashes.size());
    EXPECT_NEAR(static_cast<double>(set), n * p, 5 * std::sqrt(n * p * (1 - p)) + 1) << p;
  }
}

TEST(KMeansInit, UniformsDependOnSeedRoundAndUserOnly) {
  EXPECT_EQ(UniformFor(1, 2, 3), UniformFor(1, 2, 3));
  EXPECT_NE(UniformFor(1, 2, 3), UniformFor(2, 2, 3));
  EXPECT_NE(UniformFor(1, 2, 3), UniformFor(1, 3, 3));
  double lo = 1, hi = 0, sum = 0;
  for (std::uint64_t u = 0; u < 100000; ++u) {
    const double v = UniformFor(42, 0, u * 0x9e3779b97f4a7c15ull);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  EXPECT_GT(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

TEST(KMeansInit, LocalWeightedKMeansIsDeterministicAndFindsHeavyPoints) {
  // Three heavy groups and light noise: the centroids land on the heavy groups.
  std::vector<double> pts, w;
  for (double c : {0.0, 50.0, 100.0}) {
    for (int i = 0; i < 5; ++i) {
      pts.push_back(c + i * 0.1);
      w.push_back(100);
    }
  }
  for (int i = 0; i < 5; ++i) {
    pts.push_back(25 + i);
    w.push_back(0.01);
  }
  const auto a = LocalWeightedKMeans(pts, w, 1, 3, 9);
  EXPECT_EQ(a, LocalWeightedKMeans(pts, w, 1, 3, 9));
  std::vector<double> s = a;
  std::sort(s.begin(), s.end());
  EXPECT_NEAR(s[0], 0.2, 0.1);
  EXPECT_NEAR(s[1], 50.2, 0.1);
  EXPECT_NEAR(s[2], 100.2, 0.1);
}

}  // namespace
}  // namespace ecps::models::kmeans
