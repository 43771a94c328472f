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

}  // namespace
}  // namespace ecps
