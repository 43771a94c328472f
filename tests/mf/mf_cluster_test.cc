// Matrix factorisation end to end in single-node mode (models/mf/mf_job.h): the same factors
// for 1, 2 and 4 workers up to float summation order, and a planted low-rank matrix
// recovered.
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/mf/mf_job.h"
#include "models/mf/mf_model.h"
#include "scheduler/local_cluster.h"
#include "tests/common/quiet_cluster.h"
#include "tests/mf/mf_data.h"

namespace ecps {
namespace {

using namespace testing_mf;

Status Train(models::mf::MfOptions o, int servers, int workers, int threads = 1) {
  sched::LocalClusterOptions lo = testing::QuietCluster(0, 120);
  lo.run.worker_threads = threads;
  o.cf.quiet = true;
  auto roles = *ps::RoleTable::Make(servers, workers);
  return models::mf::TrainMf(o, [&](const sched::JobFactory& f) { return sched::RunLocal(roles, lo, f); });
}

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// Users and items are solved from the same terms in the same order for any split (mf_job.h);
// only X^T X is summed in a worker-dependent order, which changes its entries by a few ulps
// (~1e-16 relative). Over 15 iterations of well-conditioned solves (lambda + the Gram
// matrices) that stays far below 1e-9 in the factors (measured: below 1e-12), and the
// top-10 lists, whose score gaps are far larger, are identical.
TEST(MfCluster, SameFactorsForOneTwoAndFourWorkers) {
  const auto dir = TempDir("workers");
  const auto file = WritePlanted(dir / "planted.csv", 300, 4, 30, 10, 11);
  models::mf::MfOptions ref_opts;
  std::vector<double> ref_x, ref_y;
  std::string ref_rec;
  for (auto [servers, workers] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {2, 4}}) {
    models::mf::MfOptions o;
    o.cf.train = file;
    o.cf.split = models::cf::SplitKind::kLeaveOneOut;
    o.factors = 8;
    o.iterations = 15;
    o.cf.out = (dir / ("w" + std::to_string(workers))).string();
    const Status s = Train(o, servers, workers, 2);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto m = models::mf::LoadMfModel(o.cf.out);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const std::string rec = Slurp(fs::path(o.cf.out) / "recommendations.csv");
    ASSERT_GT(std::count(rec.begin(), rec.end(), '\n'), 3000);
    if (ref_x.empty()) {
      ref_x = m->user_factors;
      ref_y = m->item_factors;
      ref_rec = rec;
      continue;
    }
    EXPECT_LE(MaxAbsDiff(m->user_factors, ref_x), 1e-9) << workers << " workers: user factors";
    EXPECT_LE(MaxAbsDiff(m->item_factors, ref_y), 1e-9) << workers << " workers: item factors";
    EXPECT_EQ(rec, ref_rec) << workers << " workers: recommendations differ from 1 worker";
  }
}

// 400 users in 5 groups, each group with its own 40 items; a user has 12 of its group's
// items and one is held out (leave-one-out). A rank-8 factorisation must recommend from the
// user's own block: at random 1 item in 5 would be (0.2); over the 400 x 10 listed items the
// standard deviation of that share is sqrt(0.2 0.8 / 4000) = 0.0063, so the bound 0.95 is
// more than 100 sd above chance (measured: 1.0). HR@10 of the held-out item: a list from the
// block's 29 unseen items finds it with probability about 10/29 = 0.34, popularity's list
// (about 2 of 10 in the block) about 0.07; sd over 400 users at 0.34 is 0.024, so the bound
// 0.2 is 5.9 sd below the expected value, and popularity's expected value is 5.4 sd below it.
TEST(MfCluster, RecoversAPlantedLowRankMatrix) {
  const auto dir = TempDir("planted");
  const int groups = 5, per_group = 40;
  const auto file = WritePlanted(dir / "planted.csv", 400, groups, per_group, 12, 5);
  models::mf::MfOptions o;
  o.cf.train = file;
  o.cf.split = models::cf::SplitKind::kLeaveOneOut;
  o.cf.top_n = 10;
  o.factors = 8;
  o.iterations = 10;
  o.cf.out = (dir / "out").string();
  const Status s = Train(o, 1, 2, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::istringstream rec(Slurp(fs::path(o.cf.out) / "recommendations.csv"));
  std::string line;
  std::getline(rec, line);
  ASSERT_EQ(line, "user,item,score");
  std::size_t listed = 0, in_block = 0;
  while (std::getline(rec, line)) {
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    const int u = std::stoi(line.substr(1, c1 - 1));
    const int i = std::stoi(line.substr(c1 + 2, c2 - c1 - 2));
    ++listed;
    in_block += ItemGroup(i, per_group) == UserGroup(u, groups) ? 1 : 0;
  }
  ASSERT_EQ(listed, 4000u);
  EXPECT_GE(static_cast<double>(in_block) / static_cast<double>(listed), 0.95);
  const auto metrics = nlohmann::json::parse(Slurp(fs::path(o.cf.out) / "metrics.json"));
  const double hr = metrics["evaluation"]["full"]["mf"]["HR@10"].get<double>();
  const double pop = metrics["evaluation"]["full"]["popularity"]["HR@10"].get<double>();
  EXPECT_GE(hr, 0.2) << metrics["evaluation"].dump();
  EXPECT_GT(hr, pop + 0.1) << metrics["evaluation"].dump();
  EXPECT_EQ(metrics["model"], "mf");
  EXPECT_EQ(metrics["iterations"]["count"], 10);
}

// --task rating with 4 factors, lambda 0.05 and 20% of the ratings held out.
models::mf::MfOptions RatingOptions(const std::string& file, const fs::path& out, int iterations) {
  models::mf::MfOptions o;
  o.cf.train = file;
  o.cf.split = models::cf::SplitKind::kHoldout;
  o.task = models::mf::MfTask::kRating;
  o.regularization = 0.05;
  o.factors = 4;
  o.iterations = iterations;
  o.cf.out = out.string();
  return o;
}

// --task rating: the same bound as above. Besides X^T X (not used here), only the global
// mean is summed in a worker-dependent order (the workers' partial sums), which moves every
// residual by the same few ulps.
TEST(MfCluster, RatingTaskSameFactorsForOneTwoAndFourWorkers) {
  const auto dir = TempDir("rating-workers");
  const auto file = WritePlantedRatings(dir / "ratings.csv", 200, 80, 3, 20, 0.1, 21);
  std::vector<double> ref_x, ref_y, ref_bu, ref_bi;
  double ref_rmse = 0;
  std::string ref_rec;
  for (auto [servers, workers] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {2, 4}}) {
    const auto o = RatingOptions(file, dir / ("w" + std::to_string(workers)), 10);
    const Status s = Train(o, servers, workers, 2);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto m = models::mf::LoadMfModel(o.cf.out);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_TRUE(m->rating());
    const auto metrics = nlohmann::json::parse(Slurp(fs::path(o.cf.out) / "metrics.json"));
    const double rmse = metrics["rating"]["mf"]["rmse"].get<double>();
    const std::string rec = Slurp(fs::path(o.cf.out) / "recommendations.csv");
    if (ref_x.empty()) {
      ref_x = m->user_factors;
      ref_y = m->item_factors;
      ref_bu = m->user_bias;
      ref_bi = m->item_bias;
      ref_rmse = rmse;
      ref_rec = rec;
      continue;
    }
    EXPECT_LE(MaxAbsDiff(m->user_factors, ref_x), 1e-9) << workers << " workers: user factors";
    EXPECT_LE(MaxAbsDiff(m->item_factors, ref_y), 1e-9) << workers << " workers: item factors";
    EXPECT_LE(MaxAbsDiff(m->user_bias, ref_bu), 1e-9) << workers << " workers: user biases";
    EXPECT_LE(MaxAbsDiff(m->item_bias, ref_bi), 1e-9) << workers << " workers: item biases";
    EXPECT_NEAR(rmse, ref_rmse, 1e-9) << workers << " workers";
    EXPECT_EQ(rec, ref_rec) << workers << " workers: recommendations differ from 1 worker";
  }
}

// A planted rank-3 rating matrix (rating = 3 + p_u . q_i + N(0, 0.1^2), p . q of variance 1;
// 300 users x 150 items, 40 ratings a user) with 20% of the ratings held out (about 2400).
// The global mean predicts with RMSE about sqrt(1 + 0.01) = 1.00, and so do the biases
// (none are planted: they fit noise); the sampling sd of that RMSE over n = 2400 held-out
// ratings is about sqrt(Var(e^2) / n) / (2 RMSE) <= sqrt(8 / 2400) / 2 = 0.03 (p . q is a
// sum of products of normals, heavier-tailed than a normal: Var(e^2) <= 8 rather than 2), so
// "above 0.8" is more than 6 sd below the expected value. The factors recover p . q from 32
// training ratings a user up to the noise and the shrinkage of lambda n (measured 0.21 with
// these settings); the bound 0.4 is half the baseline's lower bound, and 13 sd below the
// baseline's expected value.
TEST(MfCluster, RatingTaskRecoversAPlantedLowRankMatrix) {
  const auto dir = TempDir("rating-planted");
  const auto file = WritePlantedRatings(dir / "ratings.csv", 300, 150, 3, 40, 0.1, 5);
  const auto o = RatingOptions(file, dir / "out", 15);
  const Status s = Train(o, 1, 2, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const auto metrics = nlohmann::json::parse(Slurp(fs::path(o.cf.out) / "metrics.json"));
  const auto& r = metrics["rating"];
  EXPECT_GT(r["ratings"].get<double>(), 2000) << r.dump();
  EXPECT_LT(r["ratings"].get<double>(), 2800) << r.dump();
  EXPECT_GT(r["global_mean"]["rmse"].get<double>(), 0.8) << r.dump();
  EXPECT_GT(r["biases"]["rmse"].get<double>(), 0.8) << r.dump();
  EXPECT_LT(r["mf"]["rmse"].get<double>(), 0.4) << r.dump();
  EXPECT_LT(r["mf"]["mae"].get<double>(), r["mf"]["rmse"].get<double>()) << r.dump();
  EXPECT_LT(r["train_rmse"].get<double>(), 0.4) << r.dump();
  EXPECT_NEAR(r["mean"].get<double>(), 3.0, 0.2) << r.dump();
  EXPECT_EQ(metrics["config"]["task"], "rating");
  // The model predicts the held-out ratings it was evaluated on: clipped to the range.
  auto m = models::mf::LoadMfModel(o.cf.out);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->rating_min, r["range"][0].get<double>());
  EXPECT_EQ(m->rating_max, r["range"][1].get<double>());
  EXPECT_EQ(models::mf::PredictRating(*m, -1, -1), m->global_mean);
}

}  // namespace
}  // namespace ecps
