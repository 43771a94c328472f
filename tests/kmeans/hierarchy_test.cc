// The segment hierarchy (models/kmeans/hierarchy.h): Ward merges on weighted centroids, checked
// on hand-computed cases and, on random segments, against a brute-force search of every step;
// and hierarchy.json of `train kmeans --hierarchy` through the real binary.
#include "models/kmeans/hierarchy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/common/run_ecps.h"
#include "tests/kmeans/kmeans_testing.h"

namespace ecps::models::kmeans {
namespace {

TEST(WardHierarchy, ThreePointsInOneDimensionAsScipyComputesThem) {
  // Points 0, 1, 10 of size 1: merge {0,1} at height 1, then with 10 at
  // sqrt(2/3*100 + 2/3*81 - 1/3*1) = sqrt(120.333...) (scipy's Lance-Williams update).
  const auto t = WardHierarchy({0, 1, 10}, {1, 1, 1}, 1);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[3].left, 0);
  EXPECT_EQ(t[3].right, 1);
  EXPECT_NEAR(t[3].height, 1.0, 1e-12);
  EXPECT_EQ(t[4].left, 2);
  EXPECT_EQ(t[4].right, 3);
  EXPECT_NEAR(t[4].height, std::sqrt(2.0 / 3 * 100 + 2.0 / 3 * 81 - 1.0 / 3), 1e-12);
  EXPECT_EQ(t[4].size, 3u);
  EXPECT_NEAR(t[4].centroid[0], 11.0 / 3, 1e-12);
  EXPECT_EQ(t[4].segments, (std::vector<int>{0, 1, 2}));
}

TEST(WardHierarchy, SizesDecideWhichSegmentsMergeFirst) {
  // Unweighted, 0 and 1 are closest; with 1000 users each their merge costs 500, while the
  // small segment at 2.5 joins segment 1 for 1000/1001 * 2.25.
  const auto t = WardHierarchy({0, 1, 2.5}, {1000, 1000, 1}, 1);
  EXPECT_EQ(t[3].left, 1);
  EXPECT_EQ(t[3].right, 2);
  EXPECT_NEAR(t[3].sse_increase, 1000.0 / 1001 * 2.25, 1e-9);
}

TEST(WardHierarchy, EveryMergeIsTheCheapestAndTheRisesAddUpToTheBetweenSegmentSquares) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<std::uint64_t> size(0, 500);
  const std::size_t k = 24, d = 3;
  std::vector<double> c(k * d);
  std::vector<std::uint64_t> n(k);
  for (auto& v : c) v = normal(rng);
  for (auto& v : n) v = size(rng);
  n[5] = 0;  // an empty segment joins at no cost
  const auto t = WardHierarchy(c, n, d);
  ASSERT_EQ(t.size(), 2 * k - 1);
  // Brute force: replay the merges, checking each is the minimum over the active pairs.
  std::vector<int> active(k);
  for (std::size_t j = 0; j < k; ++j) active[j] = static_cast<int>(j);
  auto rise = [&](const HierarchyNode& a, const HierarchyNode& b) {
    double d2 = 0;
    for (std::size_t f = 0; f < d; ++f) d2 += std::pow(a.centroid[f] - b.centroid[f], 2);
    const double na = static_cast<double>(a.size), nb = static_cast<double>(b.size);
    return na + nb > 0 ? na * nb / (na + nb) * d2 : 0.0;
  };
  double total = 0;
  for (std::size_t m = k; m < t.size(); ++m) {
    double best = INFINITY;
    for (std::size_t i = 0; i < active.size(); ++i) {
      for (std::size_t j = i + 1; j < active.size(); ++j) {
        best = std::min(best, rise(t[static_cast<std::size_t>(active[i])], t[static_cast<std::size_t>(active[j])]));
      }
    }
    EXPECT_NEAR(t[m].sse_increase, best, 1e-9 * (1 + best)) << "merge " << m;
    EXPECT_EQ(t[m].size, t[static_cast<std::size_t>(t[m].left)].size + t[static_cast<std::size_t>(t[m].right)].size);
    total += t[m].sse_increase;
    std::erase(active, t[m].left);
    std::erase(active, t[m].right);
    active.push_back(static_cast<int>(m));
  }
  // Ward's rises sum to the between-segment sum of squares sum_j n_j |c_j - mean|^2.
  double users = 0;
  std::vector<double> mean(d, 0);
  for (std::size_t j = 0; j < k; ++j) {
    users += static_cast<double>(n[j]);
    for (std::size_t f = 0; f < d; ++f) mean[f] += static_cast<double>(n[j]) * c[j * d + f];
  }
  double between = 0;
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t f = 0; f < d; ++f) {
      between += static_cast<double>(n[j]) * std::pow(c[j * d + f] - mean[f] / users, 2);
    }
  }
  EXPECT_NEAR(total, between, 1e-9 * between);
  // Each cut into m clusters covers every segment exactly once.
  const auto cuts = CutsByCount(t);
  ASSERT_EQ(cuts.size(), k);
  for (std::size_t m = 1; m <= k; ++m) {
    ASSERT_EQ(cuts[m - 1].size(), m);
    std::vector<int> covered;
    for (int id : cuts[m - 1]) {
      const auto& s = t[static_cast<std::size_t>(id)].segments;
      covered.insert(covered.end(), s.begin(), s.end());
    }
    std::sort(covered.begin(), covered.end());
    ASSERT_EQ(covered.size(), k) << m;
    for (std::size_t j = 0; j < k; ++j) EXPECT_EQ(covered[j], static_cast<int>(j)) << m;
  }
}

TEST(WardHierarchy, TrainKMeansWritesTheTreeWithTheProfilesOfItsLeaves) {
  kmtest::TempDir dir("hierarchy");
  kmtest::WritePlanted(dir / "users.csv", kmtest::MakePlanted(2000, 3, 6, 3.0, 5));
  const auto r = testing::RunEcps(fmt::format(
      "train kmeans --data {} --id-column user --features f0,f1,f2 --local -q -k 6 --hierarchy "
      "--out {}", dir / "users.csv", dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto h = nlohmann::json::parse(kmtest::ReadFile(dir / "out/hierarchy.json"));
  const auto p = nlohmann::json::parse(kmtest::ReadFile(dir / "out/profiles.json"));
  ASSERT_EQ(h["nodes"].size(), 11u);
  EXPECT_EQ(h["nodes"][10]["size"], 2000);
  EXPECT_EQ(h["cuts"]["6"], (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(h["cuts"]["1"], (std::vector<int>{10}));
  for (int j = 0; j < 6; ++j) {
    EXPECT_EQ(h["nodes"][j]["size"], p["segments"][j]["size"]);
    for (const char* f : {"f0", "f1", "f2"}) {
      EXPECT_NEAR(h["nodes"][j]["centroid"][f].get<double>(),
                  p["segments"][j]["centroid"][f].get<double>(), 1e-9);
    }
  }
  double last = 0;
  for (int m = 6; m < 11; ++m) {  // Ward heights never fall along the merge order
    EXPECT_GE(h["nodes"][m]["height"].get<double>(), last - 1e-12);
    last = h["nodes"][m]["height"].get<double>();
  }
}

}  // namespace
}  // namespace ecps::models::kmeans
