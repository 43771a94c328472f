// DP k-means pieces: the noise plan and its composition, the servers' noisy finalizer (scale
// of the noise on counts and sums, clipping into the box), the bounds parser, the uniform
// initialisation.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "models/kmeans/dp.h"
#include "privacy/rdp_accountant.h"

namespace ecps::models::kmeans {
namespace {

// Mean and (unbiased) variance.
std::pair<double, double> Moments(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  const double mean = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return {mean, ss / (n - 1)};
}

DpNoisePlan FixedPlan(std::size_t d, double sigma_count, double sigma_sum) {
  DpNoisePlan plan;
  plan.d = d;
  plan.sigma_count = sigma_count;
  plan.sigma_sum = sigma_sum;
  return plan;
}

// Runs the finalizer over `rows` rows of width d + 1 (test seed 7), each row's sums `sum`
// and count `count`.
std::vector<double> Finalize(const DpNoisePlan& plan, std::size_t rows, double sum, double count) {
  const std::size_t w = plan.d + 1;
  std::vector<double> aggregate(rows * w, sum), values(rows * w, -1.0);
  for (std::size_t r = 0; r < rows; ++r) aggregate[r * w + plan.d] = count;
  DpStatsFinalizer finalizer(plan, std::nullopt, 7);
  ps::FinalizeContext ctx;
  ctx.range = {0, rows};
  ctx.width = w;
  finalizer.Finalize(ctx, aggregate, values);
  return values;
}

TEST(DpKMeans, NoiseOnCountsAndSumsHasThePlannedScale) {
  // Counts 1e6 and sums 5e5 per feature: centroids 0.5 + small, never clipped, so
  // noisy sum = centroid · noisy count recovers the sums' noise (to ~1e-10).
  const std::size_t d = 4, rows = 2000;
  const DpNoisePlan plan = FixedPlan(d, 3.0, 2.5);  // sum stddev 2.5 · sqrt(4) = 5
  const auto v = Finalize(plan, rows, 5e5, 1e6);
  std::vector<double> count_noise, sum_noise;
  for (std::size_t r = 0; r < rows; ++r) {
    const double c = v[r * (d + 1) + d];
    count_noise.push_back(c - 1e6);
    for (std::size_t f = 0; f < d; ++f) sum_noise.push_back(v[r * (d + 1) + f] * c - 5e5);
  }
  // n samples of N(0, s²): the mean's sd is s/sqrt(n); the sample variance's relative sd is
  // sqrt(2/(n-1)). Bounds at 5 sd: counts (n = 2000) 5·sqrt(2/1999) = 0.158, sums
  // (n = 8000) 5·sqrt(2/7999) = 0.079.
  const auto [cm, cv] = Moments(count_noise);
  EXPECT_LT(std::fabs(cm), 5 * 3.0 / std::sqrt(2000.0));
  EXPECT_NEAR(cv / 9.0, 1.0, 0.158);
  const auto [sm, sv] = Moments(sum_noise);
  EXPECT_LT(std::fabs(sm), 5 * 5.0 / std::sqrt(8000.0));
  EXPECT_NEAR(sv / 25.0, 1.0, 0.079);
  EXPECT_DOUBLE_EQ(plan.sum_stddev(), 5.0);
}

TEST(DpKMeans, EmptyClustersAreNoisedAndReseededUniformly) {
  // Count 0, sums 0: noisy counts (sd 1) all below the sums' sd 10 · sqrt(2), so every
  // centroid is re-drawn uniform in [0, 1]^2: 2000 values of mean 1/2 and sd sqrt(1/12);
  // the mean's sd is 0.00645, 5 sd = 0.032.
  const DpNoisePlan plan = FixedPlan(2, 1.0, 10.0);
  const std::size_t rows = 1000;
  const auto v = Finalize(plan, rows, 0.0, 0.0);
  int nonzero = 0;
  double sum = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    nonzero += v[r * 3 + 2] != 0.0;
    for (std::size_t f = 0; f < 2; ++f) {
      EXPECT_GT(v[r * 3 + f], 0.0);
      EXPECT_LT(v[r * 3 + f], 1.0);
      sum += v[r * 3 + f];
    }
  }
  EXPECT_GE(nonzero, static_cast<int>(rows) - 1);  // P(a snapped N(0, 1) value is 0) ~ 2^-13
  EXPECT_NEAR(sum / (2 * rows), 0.5, 0.032);
}

TEST(DpKMeans, CentroidsAreClippedIntoTheBox) {
  const DpNoisePlan plan = FixedPlan(3, 1e-3, 1e-3);
  for (double sum : {100.0, -100.0}) {
    const auto v = Finalize(plan, 4, sum, 10.0);
    for (std::size_t r = 0; r < 4; ++r) {
      for (std::size_t f = 0; f < 3; ++f) EXPECT_EQ(v[r * 4 + f], sum > 0 ? 1.0 : 0.0);
      EXPECT_NEAR(v[r * 4 + 3], 10.0, 0.01);
    }
  }
}

TEST(DpKMeans, PlanSplitsOneGaussianMechanismAndMeetsTheBudget) {
  DpKMeansOptions options;
  options.epsilon = 1;
  options.delta = 1e-6;
  options.count_share = 0.2;
  auto plan = PlanDpNoise(options, 10, 5);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const double s = plan->sigma, sc = plan->sigma_count, ss = plan->sigma_sum;
  EXPECT_NEAR(1 / (sc * sc) + 1 / (ss * ss), 1 / (s * s), 1e-12 / (s * s));
  EXPECT_NEAR(1 / (sc * sc), 0.2 / (s * s), 1e-12 / (s * s));
  // The pair's RDP (counts: sensitivity 1, noise σ_c; sums: sensitivity sqrt(d), noise
  // σ_s·sqrt(d)) is that of one unit-sensitivity mechanism with σ.
  for (double alpha : {1.5, 4.0, 32.0}) {
    EXPECT_NEAR(privacy::StepRdp(1, sc, alpha) + privacy::StepRdp(1, ss, alpha),
                privacy::StepRdp(1, s, alpha), 1e-12 * privacy::StepRdp(1, s, alpha));
  }
  double last = 0;
  for (int t = 1; t <= 10; ++t) {
    auto e = plan->EpsilonAfter(t);
    ASSERT_TRUE(e.ok());
    EXPECT_GT(*e, last);
    last = *e;
  }
  EXPECT_LE(last, 1.0);
  EXPECT_GT(last, 1.0 - 1e-5);
  options.epsilon = 1e-9;  // needs σ beyond the search's range
  auto impossible = PlanDpNoise(options, 10, 5);
  ASSERT_FALSE(impossible.ok());
  EXPECT_NE(impossible.status().message().find("--dp-epsilon"), std::string::npos);
}

TEST(DpKMeans, BoundsAreParsedPerFeature) {
  const std::vector<std::string> names = {"age", "spend"};
  std::vector<double> lo, hi;
  ASSERT_TRUE(ParseDpBounds({"spend=0:1e3", "age=18:90"}, names, &lo, &hi).ok());
  EXPECT_EQ(lo, (std::vector<double>{18, 0}));
  EXPECT_EQ(hi, (std::vector<double>{90, 1000}));
  const auto refused = [&](std::vector<std::string> specs, const std::string& feature) {
    const Status s = ParseDpBounds(specs, names, &lo, &hi);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("--dp-bounds"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(feature), std::string::npos) << s.message();
  };
  refused({"age=18:90"}, "spend");                  // missing
  refused({"age=90:18", "spend=0:1"}, "age");       // lo > hi
  refused({"age=18:18", "spend=0:1"}, "age");       // lo == hi
  refused({"age=nan:90", "spend=0:1"}, "age");      // not finite
  refused({"age=18:inf", "spend=0:1"}, "age");      // not finite
  refused({"age=18", "spend=0:1"}, "age=18");       // no ':'
  refused({"height=1:2", "age=1:2", "spend=0:1"}, "height");  // unknown
  refused({"age=1:2", "age=1:3", "spend=0:1"}, "age");        // twice
}

TEST(DpKMeans, HistogramGridFitsTheCellLimit) {
  EXPECT_EQ(DpGrid::For(5).per_dim, 5u);  // 5^5 = 3125 <= 4096 < 6^5
  EXPECT_EQ(DpGrid::For(5).cells, 3125u);
  EXPECT_EQ(DpGrid::For(1).cells, 4096u);
  EXPECT_EQ(DpGrid::For(12).cells, 4096u);  // 2^12
  EXPECT_EQ(DpGrid::For(13).cells, 0u);     // no histogram: uniform initialisation
  const DpGrid g = DpGrid::For(3);
  for (std::size_t c = 0; c < g.cells; ++c) EXPECT_EQ(g.Cell(g.Centre(c).data()), c);
  const double corner[3] = {1.0, 0.0, 1.0};
  EXPECT_EQ(g.Centre(g.Cell(corner)), (std::vector<double>{0.96875, 0.03125, 0.96875}));  // 16 per dim
}

TEST(DpKMeans, HistogramCountsGetThePlannedNoise) {
  // 4000 cells of count 0, noise sd 2: 5 sd bounds as above, sqrt(2/3999)·5 = 0.112 on the
  // variance ratio and 5·2/sqrt(4000) = 0.158 on the mean.
  const std::size_t n = 4000;
  std::vector<double> aggregate(n, 0.0), values(n, 0.0);
  DpCountFinalizer finalizer(2.0, std::nullopt, 11);
  ps::FinalizeContext ctx;
  ctx.range = {0, n};
  ctx.width = 1;
  finalizer.Finalize(ctx, aggregate, values);
  const auto [mean, var] = Moments(values);
  EXPECT_LT(std::fabs(mean), 0.158);
  EXPECT_NEAR(var / 4.0, 1.0, 0.112);
}

TEST(DpKMeans, InitialCentroidsAreTheHeavyCells) {
  const DpGrid g = DpGrid::For(2);  // 64 per dimension
  std::vector<double> noisy(g.cells, 5.0);  // below the threshold 10
  const std::vector<std::size_t> heavy = {3, 700, 4000};
  for (std::size_t c : heavy) noisy[c] = 500;
  auto centroids = CentroidsFromHistogram(g, noisy, 10.0, 3, 1);
  std::vector<std::vector<double>> got, want;
  for (std::size_t j = 0; j < 3; ++j) got.emplace_back(centroids.begin() + 2 * j, centroids.begin() + 2 * j + 2);
  for (std::size_t c : heavy) want.push_back(g.Centre(c));
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  // Fewer heavy cells than k: uniform centroids fill up, in the box.
  centroids = CentroidsFromHistogram(g, noisy, 10.0, 5, 1);
  ASSERT_EQ(centroids.size(), 10u);
  for (double v : centroids) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
}

TEST(DpKMeans, UniformCentroidsDependOnTheSeedOnly) {
  const auto a = UniformCentroids(8, 3, 42), b = UniformCentroids(8, 3, 42);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, UniformCentroids(8, 3, 43));
  for (double v : a) {
    EXPECT_GT(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
}

}  // namespace
}  // namespace ecps::models::kmeans
