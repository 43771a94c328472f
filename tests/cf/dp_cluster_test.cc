// Private item-CF in single-node mode (2 servers, so the noisy triangle is split): the
// servers' noise has the planned standard deviation on every entry, touched or not; two data
// sets that differ by one (heavy) user give noisy matrices that differ by at most the
// sensitivity; and the model (neighbour lists, popularity) is a function of the noisy matrix.
#include <cmath>
#include <map>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/cf/cf_job.h"
#include "models/cf/dp.h"
#include "models/cf/model.h"
#include "models/cf/topk.h"
#include "scheduler/local_cluster.h"
#include "tests/cf/cf_data.h"
#include "tests/common/quiet_cluster.h"

namespace ecps {
namespace {

using namespace testing_cf;
using models::cf::TriangleKey;
using models::cf::TriangleKeys;

constexpr std::uint32_t kItems = 150;

std::string Sku(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "cat-%03d", i);
  return buf;
}

std::string WriteCatalogue(const fs::path& path) {
  std::ofstream f(path);
  for (std::uint32_t i = 0; i < kItems; ++i) f << Sku(static_cast<int>(i)) << "\n";
  return path.string();
}

// The noisy triangle as the workers pulled it, assembled from their row shares.
struct Observed {
  std::mutex mu;
  std::vector<double> matrix = std::vector<double>(TriangleKeys(kItems), std::nan(""));
  std::vector<int> rows_seen = std::vector<int>(kItems, 0);
  void Add(std::uint32_t first, std::span<const double> entries) {
    std::lock_guard<std::mutex> lock(mu);
    const std::uint64_t lo = TriangleKey(first, first, kItems);
    for (std::size_t t = 0; t < entries.size(); ++t) matrix[lo + t] = entries[t];
    for (std::uint32_t i = first; i < kItems && TriangleKey(i, i, kItems) < lo + entries.size();
         ++i) {
      ++rows_seen[i];
    }
  }
};

models::cf::CfOptions DpOptions(const std::string& train, const std::string& catalogue,
                                const fs::path& out, Observed* seen) {
  models::cf::CfOptions o;
  o.train = train;
  o.out = out.string();
  o.neighbors = 10;
  o.top_n = 5;
  o.quiet = true;
  o.dp.epsilon = 1;
  o.dp.items = catalogue;
  o.dp.max_items = 20;
  o.dp.test_seed = 77;
  o.dp.observe_rows = [seen](std::uint32_t first, std::span<const double> e) {
    seen->Add(first, e);
  };
  return o;
}

Status Train(const models::cf::CfOptions& o) {
  auto roles = *ps::RoleTable::Make(2, 2);
  return models::cf::TrainCf(o, [&](const sched::JobFactory& f) {
    return sched::RunLocal(roles, testing::QuietCluster(0, 120), f);
  });
}

double PlannedSigma() {
  models::cf::DpCfOptions o;
  o.epsilon = 1;
  return models::cf::PlanDpCf(o, kItems)->sigma;
}

TEST(DpCfCluster, NoiseHasThePlannedStddevOnEveryEntryTouchedOrNot) {
  const auto dir = TempDir("dp_noise");
  const auto catalogue = WriteCatalogue(dir / "catalogue.txt");
  // 200 users with items outside the catalogue (dropped: no contribution), and one user with
  // the single item cat-007 (weight 1 on the diagonal entry (7, 7), left out below).
  std::vector<Interaction> rows;
  for (int u = 0; u < 200; ++u) {
    for (int t = 0; t < 5; ++t) rows.push_back({"u" + std::to_string(u), "other-" + std::to_string((u + t) % 40), 1, t});
  }
  rows.push_back({"lonely", Sku(7), 1, 0});
  const auto train = WriteInteractions(dir / "interactions.csv", rows, false);
  Observed seen;
  const Status s = Train(DpOptions(train, catalogue, dir / "out", &seen));
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (std::uint32_t i = 0; i < kItems; ++i) ASSERT_EQ(seen.rows_seen[i], 1) << "row " << i;
  const double sigma = PlannedSigma();
  double sum = 0, sq = 0;
  std::size_t n = 0, zeros = 0;
  for (std::uint64_t key = 0; key < seen.matrix.size(); ++key) {
    if (key == TriangleKey(7, 7, kItems)) continue;
    const double v = seen.matrix[key];
    ASSERT_FALSE(std::isnan(v)) << "key " << key << " was never pulled";
    zeros += v == 0 ? 1 : 0;
    sum += v;
    sq += v * v;
    ++n;
  }
  // Noise rounded to its grid (sigma / 2^12 at most) is 0 with probability < 1e-4: about one
  // of these entries; without noise on untouched entries all of them would be.
  EXPECT_LE(zeros, 10u) << "entries nobody touched must get noise too";
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  // n = 11324 normal samples: the sample stddev is within 1% of sigma at one standard error,
  // within 6% at nine (the seed is fixed, and a flake would need a 9-sigma draw).
  EXPECT_NEAR(sd / sigma, 1.0, 0.06) << "sample stddev " << sd << " planned " << sigma;
  EXPECT_NEAR(mean / sigma, 0.0, 9.0 / std::sqrt(static_cast<double>(n)));
  const auto metrics = nlohmann::json::parse(Slurp(dir / "out" / "metrics.json"));
  ASSERT_TRUE(metrics.contains("privacy")) << metrics.dump();
  EXPECT_DOUBLE_EQ(metrics["privacy"]["sigma"].get<double>(), sigma);
  EXPECT_EQ(metrics["privacy"]["catalogue_items"].get<int>(), static_cast<int>(kItems));
  EXPECT_EQ(metrics["privacy"]["test_seed"].get<bool>(), true);
}

// Light users in 5 groups of 30 items; each user has 6 items of one of the group's 5 cliques.
// Data set B is A plus one heavy user with every catalogue item.
std::vector<Interaction> LightUsers() {
  std::vector<Interaction> rows;
  for (int u = 0; u < 2000; ++u) {
    const int group = u % 5;
    for (int t = 0; t < 6; ++t) {
      rows.push_back({"u" + std::to_string(u), Sku(group * 30 + (u / 5 * 7 + t * 5) % 30), 1, t});
    }
  }
  return rows;
}

TEST(DpCfCluster, OneUserMovesTheNoisyMatrixByAtMostTheSensitivity) {
  const auto dir = TempDir("dp_neighbours");
  const auto catalogue = WriteCatalogue(dir / "catalogue.txt");
  auto rows = LightUsers();
  const auto train_a = WriteInteractions(dir / "a.csv", rows, false);
  for (std::uint32_t i = 0; i < kItems; ++i) rows.push_back({"heavy", Sku(static_cast<int>(i)), 1, 100});
  const auto train_b = WriteInteractions(dir / "b.csv", rows, false);
  Observed a, b;
  ASSERT_TRUE(Train(DpOptions(train_a, catalogue, dir / "a", &a)).ok());
  ASSERT_TRUE(Train(DpOptions(train_b, catalogue, dir / "b", &b)).ok());
  // The same replayed noise on both: the difference is the heavy user's contribution (up to
  // the snapping grid of the noise, sigma / 2^12 at most per entry).
  double sq = 0, largest = 0;
  std::size_t changed = 0;
  for (std::size_t k = 0; k < a.matrix.size(); ++k) {
    const double d = b.matrix[k] - a.matrix[k];
    sq += d * d;
    largest = std::max(largest, std::abs(d));
    changed += d != 0 ? 1 : 0;
  }
  const double w = 1 / std::sqrt(20 * 21 / 2.0);  // --dp-max-items 20
  EXPECT_EQ(changed, 210u) << "the heavy user counts with 20 items: 210 entries";
  EXPECT_NEAR(std::sqrt(sq), 1.0, 0.02) << "L2 distance of the two noisy matrices";
  EXPECT_LE(largest, w + PlannedSigma() / 4096) << "no entry moves by more than the user's weight";
}

TEST(DpCfCluster, ModelIsAFunctionOfTheNoisyMatrixOnly) {
  const auto dir = TempDir("dp_model");
  const auto catalogue = WriteCatalogue(dir / "catalogue.txt");
  const auto train = WriteInteractions(dir / "i.csv", LightUsers(), false);
  Observed seen;
  auto o = DpOptions(train, catalogue, dir / "out", &seen);
  o.dp.epsilon = 8;  // enough signal that lists are not empty
  o.split = models::cf::SplitKind::kLeaveLastOut;
  ASSERT_TRUE(Train(o).ok());
  const auto model = models::cf::LoadCfModel((dir / "out").string(), nullptr);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_TRUE(model->user_ids.empty()) << "a private model holds no users";
  EXPECT_TRUE(model->train_item.empty()) << "a private model holds no training rows";
  ASSERT_EQ(model->item_ids.size(), kItems);
  std::vector<double> diag(kItems);
  for (std::uint32_t i = 0; i < kItems; ++i) diag[i] = seen.matrix[TriangleKey(i, i, kItems)];
  EXPECT_EQ(model->item_count, models::cf::DpPopularity(diag));
  models::cf::DpCfOptions dp;
  dp.epsilon = 8;
  const double floor = models::cf::PlanDpCf(dp, kItems)->floor();
  std::vector<double> lists;
  models::cf::DpNeighborRows(seen.matrix, 0, kItems, diag, models::cf::Measure::kCosine, 0, floor,
                             10, &lists);
  std::size_t total = 0;
  for (std::uint32_t i = 0; i < kItems; ++i) {
    std::vector<models::cf::Neighbor> expect;
    models::cf::DecodeRow(lists.data() + i * 20, 10, &expect);
    const auto ids = model->neighbors.Ids(i);
    ASSERT_EQ(ids.size(), expect.size()) << "item " << i;
    for (std::size_t t = 0; t < ids.size(); ++t) EXPECT_EQ(ids[t], expect[t].id) << "item " << i;
    total += ids.size();
  }
  EXPECT_GT(total, 3 * kItems) << "the lists should not be empty at epsilon 8";
}

}  // namespace
}  // namespace ecps
