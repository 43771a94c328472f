// Private item-CF's pieces (models/cf/dp.h): the triangle layout, per-user contribution
// bounding (L2 norm 1 whatever the user's item count), the noise plan, the memory check, the
// catalogue file, and the neighbour lists and popularity as functions of the noisy counts.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "models/cf/dp.h"
#include "models/cf/topk.h"
#include "privacy/rdp_accountant.h"

namespace ecps::models::cf {
namespace {

double Norm(const std::vector<std::pair<std::uint64_t, double>>& entries) {
  double s = 0;
  for (const auto& e : entries) s += e.second * e.second;
  return std::sqrt(s);
}

std::vector<std::uint32_t> Range(std::uint32_t b, std::uint32_t e) {
  std::vector<std::uint32_t> v(e - b);
  std::iota(v.begin(), v.end(), b);
  return v;
}

TEST(DpCf, TriangleKeysAreRowMajorAndDense) {
  const std::uint64_t n = 7;
  std::uint64_t expect = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t j = i; j < n; ++j) EXPECT_EQ(TriangleKey(i, j, n), expect++) << i << "," << j;
  }
  EXPECT_EQ(expect, TriangleKeys(n));
}

TEST(DpCf, EveryUsersContributionHasL2NormOne) {
  for (std::size_t n = 1; n <= 60; ++n) {
    std::vector<std::pair<std::uint64_t, double>> entries;
    AddDpContribution(BoundedItems(Range(0, static_cast<std::uint32_t>(n)), 50, 7), 100, &entries);
    const std::size_t kept = std::min<std::size_t>(n, 50);
    EXPECT_EQ(entries.size(), kept * (kept + 1) / 2) << n << " items";
    EXPECT_NEAR(Norm(entries), 1.0, 1e-12) << n << " items";
  }
}

TEST(DpCf, AHeavyUserKeepsAtMostMaxItemsAndSmallWeights) {
  const auto items = Range(0, 1000);
  const auto kept = BoundedItems(items, 20, 3);
  ASSERT_EQ(kept.size(), 20u);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_EQ(std::set<std::uint32_t>(kept.begin(), kept.end()).size(), 20u);
  std::vector<std::pair<std::uint64_t, double>> entries;
  AddDpContribution(kept, 1000, &entries);
  EXPECT_EQ(entries.size(), 210u);
  EXPECT_NEAR(Norm(entries), 1.0, 1e-12);
  for (const auto& e : entries) EXPECT_NEAR(e.second, 1 / std::sqrt(210.0), 1e-15);
  // The choice depends on the user's own items and the seed only, and differs between users.
  EXPECT_EQ(BoundedItems(items, 20, 3), kept);
  EXPECT_NE(BoundedItems(items, 20, 4), kept);
  auto other = Range(0, 1001);
  EXPECT_NE(BoundedItems(other, 20, 3), kept);
}

TEST(DpCf, CombinedEntriesAddUpRepeatedKeys) {
  std::vector<std::pair<std::uint64_t, double>> entries;
  AddDpContribution(std::vector<std::uint32_t>{1, 3}, 5, &entries);
  AddDpContribution(std::vector<std::uint32_t>{3}, 5, &entries);
  std::vector<std::uint64_t> keys;
  std::vector<double> values;
  CombineDpEntries(&entries, &keys, &values);
  const double w2 = 1 / std::sqrt(3.0);
  ASSERT_EQ(keys, (std::vector<std::uint64_t>{TriangleKey(1, 1, 5), TriangleKey(1, 3, 5),
                                              TriangleKey(3, 3, 5)}));
  EXPECT_DOUBLE_EQ(values[0], w2);
  EXPECT_DOUBLE_EQ(values[1], w2);
  EXPECT_DOUBLE_EQ(values[2], w2 + 1.0);
}

TEST(DpCf, RowSharesCoverTheTriangleOnceAndEvenly) {
  for (int workers : {1, 2, 3, 5}) {
    const std::uint32_t n = 101;
    std::uint32_t next = 0;
    for (int w = 0; w < workers; ++w) {
      const auto [b, e] = DpRowShare(n, workers, w);
      EXPECT_EQ(b, next);
      const std::uint64_t lo = TriangleKey(b, b, n);
      const std::uint64_t hi = e < n ? TriangleKey(e, e, n) : TriangleKeys(n);
      EXPECT_NEAR(static_cast<double>(hi - lo), static_cast<double>(TriangleKeys(n)) / workers,
                  n + 1.0)
          << workers << " workers, worker " << w;
      next = e;
    }
    EXPECT_EQ(next, n);
  }
}

TEST(DpCf, NoiseMeetsTheBudgetOfOneUnitSensitivityGaussian) {
  DpCfOptions o;
  o.delta = 1e-6;
  double previous = 1e9;
  for (double eps : {0.5, 1.0, 2.0, 8.0}) {
    o.epsilon = eps;
    const auto plan = PlanDpCf(o, 10);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_LT(plan->sigma, previous);
    previous = plan->sigma;
    privacy::SampledGaussian m;
    m.noise_multiplier = plan->sigma;
    m.sample_rate = 1;
    m.steps = 1;
    const auto g = privacy::ComputeEpsilon(m, o.delta);
    ASSERT_TRUE(g.ok());
    EXPECT_LE(g->epsilon, eps * (1 + 1e-6)) << eps;
    m.noise_multiplier = plan->sigma * 0.97;  // the smallest such σ
    EXPECT_GT(privacy::ComputeEpsilon(m, o.delta)->epsilon, eps) << eps;
  }
}

TEST(DpCf, OversizeCatalogueIsRefusedNamingTheOptionAndSize) {
  const std::uint64_t gib = std::uint64_t{1} << 30;
  EXPECT_TRUE(CheckDpMatrixMemory(10000, 16 * gib, "cat.txt").ok());
  const Status s = CheckDpMatrixMemory(100000, 16 * gib, "cat.txt");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--dp-items cat.txt"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("100000 items"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("111.8 GiB"), std::string::npos) << s.message();
}

TEST(DpCf, CatalogueFileIsTrimmedAndRepeatsRefused) {
  const auto dir = std::filesystem::temp_directory_path() / "ecps_dp_catalogue";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "c.txt").string();
  std::ofstream(path) << "a\n  b \r\n\nc\n";
  const auto c = LoadDpCatalogue(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->ids, (std::vector<std::string>{"a", "b", "c"}));
  std::ofstream(path) << "a\nb\na\n";
  const auto twice = LoadDpCatalogue(path);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find(path + ":3"), std::string::npos);
  std::ofstream(path) << "\n";
  EXPECT_FALSE(LoadDpCatalogue(path).ok());
  std::filesystem::remove_all(dir);
}

TEST(DpCf, NeighboursComeFromTheNoisyCountsAboveTheFloor) {
  // 4 items; rows [0, 4) of the triangle: d = (10, 5, 0.1, 20); c01 = 4, c03 = 2.5 (below
  // the floor 3), c13 = 6, c23 = 3.5 (item 2's diagonal floored at 3).
  const std::vector<double> entries = {10, 4, -1, 2.5, 5, 0.2, 6, 0.1, 3.5, 20};
  const std::vector<double> diag = {10, 5, 0.1, 20};
  std::vector<double> rows;
  const auto pairs = DpNeighborRows(entries, 0, 4, diag, Measure::kCosine, 0, 3, 3, &rows);
  EXPECT_EQ(pairs, 3u);
  std::vector<Neighbor> l0, l1, l2, l3;
  DecodeRow(rows.data(), 3, &l0);
  DecodeRow(rows.data() + 6, 3, &l1);
  DecodeRow(rows.data() + 12, 3, &l2);
  DecodeRow(rows.data() + 18, 3, &l3);
  ASSERT_EQ(l0.size(), 1u);
  EXPECT_EQ(l0[0].id, 1u);
  EXPECT_DOUBLE_EQ(l0[0].score, 4 / std::sqrt(50.0));
  ASSERT_EQ(l1.size(), 2u);  // 6 / sqrt(5 * 20) = 0.6 before 4 / sqrt(10 * 5) = 0.566
  EXPECT_EQ(l1[0].id, 3u);
  EXPECT_DOUBLE_EQ(l1[0].score, 0.6);
  EXPECT_EQ(l1[1].id, 0u);
  ASSERT_EQ(l3.size(), 2u);
  EXPECT_EQ(l3[0].id, 1u);
  EXPECT_EQ(l3[1].id, 2u);
  ASSERT_EQ(l2.size(), 1u);
  EXPECT_EQ(l2[0].id, 3u);
  EXPECT_DOUBLE_EQ(l2[0].score, 3.5 / std::sqrt(3.0 * 20));
  // A worker's share of the rows gives its pairs only (rows [1, 3) start at key (1, 1)).
  const std::vector<double> share(entries.begin() + 4, entries.begin() + 9);
  EXPECT_EQ(DpNeighborRows(share, 1, 3, diag, Measure::kCosine, 0, 3, 3, &rows), 2u);
}

TEST(DpCf, ThresholdLeavesOneNoiseNeighbourPerHundredItems) {
  for (std::uint64_t items : {500, 23715, 1000000}) {
    const double z = DpThresholdSigmas(items);
    EXPECT_NEAR(0.5 * std::erfc(z / std::sqrt(2.0)) * items, 0.01, 1e-9) << items;
  }
  EXPECT_NEAR(DpThresholdSigmas(500), 4.107, 1e-3);
  EXPECT_EQ(DpThresholdSigmas(1), 3.0);  // 0.01 / 1 would ask for z = 2.33: at least 3
}

TEST(DpCf, PopularityIsTheNoisyDiagonal) {
  EXPECT_EQ(DpPopularity(std::vector<double>{-2.5, 0.0004, 1.2345, 7}),
            (std::vector<std::uint32_t>{0, 0, 1235, 7000}));
}

}  // namespace
}  // namespace ecps::models::cf
