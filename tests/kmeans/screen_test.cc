// The float32 screen (screen.h): with its unsure points decided by the float64 kernel, it
// gives Assign's labels exactly, on every shape and on hard cases (ties, points on centroids,
// data far from its origin, huge and tiny scales); and on separated data it settles almost
// every point by itself.
#include <algorithm>
#include <bit>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "models/kmeans/kernel.h"
#include "models/kmeans/screen.h"

namespace ecps::models::kmeans {
namespace {

struct Data {
  std::vector<double> x, c;
  std::size_t n = 0, d = 0, k = 0;
};

Data Normal(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed, double spread = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  Data t{std::vector<double>(n * d), std::vector<double>(k * d), n, d, k};
  for (auto& v : t.c) v = 3 * g(rng);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = rng() % k;
    for (std::size_t f = 0; f < d; ++f) t.x[i * d + f] = t.c[j * d + f] + spread * g(rng);
  }
  return t;
}

// origin = the mean, scale = the power of two that brings the farthest point within 1 (as
// the worker chooses them).
ScreenPoints MakePoints(const Data& t) {
  std::vector<double> mean(t.d, 0.0);
  for (std::size_t i = 0; i < t.n; ++i) {
    for (std::size_t f = 0; f < t.d; ++f) mean[f] += t.x[i * t.d + f] / static_cast<double>(t.n);
  }
  double r2 = 0;
  for (std::size_t i = 0; i < t.n; ++i) {
    double s = 0;
    for (std::size_t f = 0; f < t.d; ++f) s += (t.x[i * t.d + f] - mean[f]) * (t.x[i * t.d + f] - mean[f]);
    r2 = std::max(r2, s);
  }
  int e = 0;
  (void)std::frexp(std::sqrt(r2), &e);
  ScreenPoints p;
  p.Reset(t.n, t.d, mean, r2 > 0 ? std::ldexp(1.0, -e) : 1.0);
  p.Fill(t.x.data(), 0, p.blocks());
  return p;
}

std::vector<std::int32_t> AssignLabels(const Data& t, const CentroidPanel& panel) {
  std::vector<double> norms(t.n), d2(t.n);
  std::vector<std::int32_t> labels(t.n);
  SquaredNorms(t.x.data(), t.n, t.d, norms.data());
  Assign(t.x.data(), norms.data(), t.n, panel, labels.data(), d2.data());
  return labels;
}

struct ScreenRun {
  std::vector<std::int32_t> labels;  // after deciding the unsure points exactly
  std::size_t unsure = 0;
  std::size_t settled_but_changed = 0;  // settled points whose label differs from `prior`
};

// Screens every block against `prior` labels (padded to whole blocks with -1), in a few
// calls of uneven block ranges, and decides unsure points with NearestCentroid.
ScreenRun RunScreen(const Data& t, const ScreenPoints& pts, const ScreenPanel& sp, const CentroidPanel& panel,
                    std::vector<std::int32_t> prior) {
  const std::size_t blocks = pts.blocks();
  prior.resize(blocks * kScreenBlock, -1);
  std::vector<std::int32_t> next(blocks * kScreenBlock, -7);
  std::vector<std::uint16_t> todo(blocks), unsure(blocks);
  for (std::size_t b0 = 0; b0 < blocks;) {
    const std::size_t b1 = std::min(blocks, b0 + 1 + b0 % 5);
    Screen(pts, sp, b0, b1, prior.data() + b0 * kScreenBlock, next.data() + b0 * kScreenBlock, todo.data() + b0,
           unsure.data() + b0);
    b0 = b1;
  }
  ScreenRun r;
  r.labels.assign(prior.begin(), prior.begin() + static_cast<std::ptrdiff_t>(t.n));
  for (std::size_t b = 0; b < blocks; ++b) {
    for (unsigned lane = 0; lane < kScreenBlock; ++lane) {
      const std::size_t i = b * kScreenBlock + lane;
      const bool is_todo = (todo[b] >> lane) & 1u, is_unsure = (unsure[b] >> lane) & 1u;
      EXPECT_TRUE(i < t.n || !is_todo) << "a bit past the last point, block " << b;
      EXPECT_TRUE(is_todo || !is_unsure) << "unsure but not to do, point " << i;
      if (i >= t.n) continue;
      if (is_unsure) {
        ++r.unsure;
        r.labels[i] = NearestCentroid(t.x.data() + i * t.d, panel);
      } else if (is_todo) {
        r.labels[i] = next[i];
        ++r.settled_but_changed;
      }
    }
  }
  return r;
}

// The screen from no labels and from the right labels both end at Assign's labels.
void ExpectExact(const Data& t, const std::string& what, std::size_t* unsure_out = nullptr) {
  CentroidPanel panel;
  panel.Set(t.c, t.k, t.d);
  const auto expect = AssignLabels(t, panel);
  const ScreenPoints pts = MakePoints(t);
  ScreenPanel sp;
  ASSERT_TRUE(sp.Set(t.c, t.k, pts)) << what;
  const ScreenRun fresh = RunScreen(t, pts, sp, panel, std::vector<std::int32_t>(t.n, -1));
  for (std::size_t i = 0; i < t.n; ++i) ASSERT_EQ(fresh.labels[i], expect[i]) << what << ", point " << i;
  // Labels already right: a settled point never reports a change.
  const ScreenRun steady = RunScreen(t, pts, sp, panel, expect);
  EXPECT_EQ(steady.settled_but_changed, 0u) << what;
  for (std::size_t i = 0; i < t.n; ++i) ASSERT_EQ(steady.labels[i], expect[i]) << what << ", point " << i;
  if (unsure_out) *unsure_out = fresh.unsure;
}

class ScreenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ScreenAvailable()) GTEST_SKIP() << "this CPU has no AVX-512: the Lloyd loop uses Assign alone";
  }
};

TEST_F(ScreenTest, GivesAssignsLabelsOnEveryShape) {
  // Register kernels (d <= 8) and the general one, one tile and several, partial last blocks.
  for (std::size_t d : {1u, 2u, 3u, 5u, 8u, 9u, 13u}) {
    for (std::size_t k : {1u, 2u, 5u, 16u, 17u, 40u}) {
      const Data t = Normal(16 * 13 + 7, d, k, 100 * d + k, 1.5);
      ExpectExact(t, "d " + std::to_string(d) + " k " + std::to_string(k));
    }
  }
}

TEST_F(ScreenTest, HardCasesStayExact) {
  {  // Duplicate centroids (exact ties: the lowest index wins) and points on centroids.
    Data t = Normal(500, 4, 6, 1);
    std::copy_n(t.c.begin(), 4, t.c.begin() + 12);  // centroid 3 = centroid 0
    for (std::size_t i = 0; i < 60; ++i) std::copy_n(t.c.begin() + 4 * (i % 6), 4, t.x.begin() + 4 * i);
    ExpectExact(t, "ties");
  }
  {  // Points on the bisector of two centroids (equal distances up to rounding).
    Data t = Normal(400, 3, 2, 2);
    for (std::size_t i = 0; i < t.n; ++i) {
      const double w = static_cast<double>(i % 7) - 3;
      for (std::size_t f = 0; f < 3; ++f) t.x[i * 3 + f] = (t.c[f] + t.c[3 + f]) / 2 + w * 1e-9 * (f == 0 ? 1 : -1);
    }
    ExpectExact(t, "bisector");
  }
  {  // Far from the origin: clusters of spread 1e-3 around 1e6 (the float64 kernel's own
     // rounding matters there, and the screen must defer to it).
    Data t = Normal(600, 5, 7, 3);
    for (auto& v : t.x) v = 1e6 + v * 1e-3;
    for (auto& v : t.c) v = 1e6 + v * 1e-3;
    ExpectExact(t, "far from the origin");
  }
  {  // Tiny and huge scales.
    for (double s : {1e-30, 1e-12, 1e12, 1e30}) {
      Data t = Normal(300, 6, 9, 4);
      for (auto& v : t.x) v *= s;
      for (auto& v : t.c) v *= s;
      ExpectExact(t, "scale " + std::to_string(s));
    }
  }
}

TEST_F(ScreenTest, RefusesCentroidsTooFarForFloat32) {
  const Data t = Normal(100, 3, 4, 5);
  const ScreenPoints pts = MakePoints(t);
  ScreenPanel sp;
  EXPECT_TRUE(sp.Set(t.c, t.k, pts));
  std::vector<double> far = t.c;
  far[0] = 1e40;
  EXPECT_FALSE(sp.Set(far, t.k, pts));
}

TEST_F(ScreenTest, SettlesAlmostEveryPointOnSeparatedClusters) {
  // The speed-up depends on it: on clusters with overlap (as in the benchmark) only points
  // within ~1e-3 of a boundary are unsure.
  const Data t = Normal(20000, 8, 16, 6, 1.5);
  std::size_t unsure = 0;
  ExpectExact(t, "separated", &unsure);
  EXPECT_LT(unsure, t.n / 200) << unsure << " of " << t.n << " unsure";
}

// Reset leaves its memory uninitialised: Fill writes the padding of the last block (zero),
// also where an earlier, larger Fill left other values there.
TEST(KMeansScreen, FillZeroesThePaddingOfTheLastBlock) {
  const std::size_t d = 3;
  ScreenPoints p;
  std::vector<double> x(32 * d, 0.75), origin(d, 0.0);
  p.Reset(32, d, origin, 1.0);
  p.Fill(x.data(), 0, p.blocks());
  p.Reset(20, d, origin, 1.0);  // the same memory, two blocks: 4 points in the last
  p.Fill(x.data(), 0, p.blocks());
  const float* last = p.block(1);
  for (std::size_t row = 0; row <= d; ++row) {
    for (std::size_t i = 0; i < kScreenBlock; ++i) {
      const float v = last[row * kScreenBlock + i];
      if (i < 4) {
        EXPECT_GT(v, 0.0f) << "row " << row << " point " << i;
      } else {
        EXPECT_EQ(v, 0.0f) << "row " << row << " padding " << i;
      }
    }
  }
}

TEST(KMeansKernel, OnePointHelpersMatchAssign) {
  const Data t = Normal(300, 7, 11, 8);
  CentroidPanel panel;
  panel.Set(t.c, t.k, t.d);
  std::vector<double> norms(t.n), d2(t.n);
  std::vector<std::int32_t> labels(t.n);
  SquaredNorms(t.x.data(), t.n, t.d, norms.data());
  Assign(t.x.data(), norms.data(), t.n, panel, labels.data(), d2.data());
  for (std::size_t i = 0; i < t.n; ++i) {
    ASSERT_EQ(NearestCentroid(t.x.data() + i * t.d, panel), labels[i]) << "point " << i;
    const double got = AssignedDistance(t.x.data() + i * t.d, norms[i], static_cast<std::size_t>(labels[i]), panel);
    ASSERT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(d2[i])) << "point " << i;
  }
}

}  // namespace
}  // namespace ecps::models::kmeans
