// In-process cluster tests: scheduler + 2 servers + 3 workers as threads of this process.
#include <gtest/gtest.h>

#include "models/pscheck/pscheck.h"
#include "scheduler/local_cluster.h"
#include "tests/common/quiet_cluster.h"
#include "tests/common/scenarios.h"

namespace ecps {
namespace {

sched::LocalClusterOptions Quiet(int staleness = 0) { return testing::QuietCluster(staleness); }

ps::RoleTable Roles(int s = 2, int w = 3) { return *ps::RoleTable::Make(s, w); }

// Runs pscheck and returns the scheduler's reports.
std::vector<models::PsCheckReport> RunCheck(int staleness, int slow_ms, int servers = 2, int workers = 3) {
  std::shared_ptr<models::PsCheckJob> scheduler_job;
  models::PsCheckOptions opt;
  opt.keys = 20000;
  opt.clocks = 8;
  opt.slow_worker_ms = slow_ms;
  auto results = sched::RunLocalEach(Roles(servers, workers), Quiet(staleness), [&](ps::Rank r) {
    auto j = std::make_shared<models::PsCheckJob>(opt);
    if (r == 0) scheduler_job = j;
    return j;
  });
  for (std::size_t r = 0; r < results.size(); ++r) {
    EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r].ToString();
  }
  return scheduler_job->reports();
}

TEST(ClusterPs, BspSumsAreExactAndNothingIsStale) {
  auto reports = RunCheck(0, 0);
  ASSERT_EQ(reports.size(), 3u);
  for (const auto& r : reports) {
    EXPECT_GT(r.values_checked, 0u);
    EXPECT_EQ(r.max_staleness_seen, 0);
  }
}

TEST(ClusterPs, SspBoundsStalenessAndUsesIt) {
  // Worker 0 is slow; with s = 2 the others may run ahead but never see fewer than c-s
  // clocks (checked inside the job for every pull), and they do run ahead.
  auto reports = RunCheck(2, 30);
  std::int64_t most = 0;
  for (const auto& r : reports) {
    EXPECT_LE(r.max_staleness_seen, 2);
    most = std::max(most, r.max_staleness_seen);
  }
  EXPECT_GT(most, 0) << "the fast workers should have run ahead of the slow one";
}

TEST(ClusterPs, AspNeverWaitsAndFinalSumsAreExact) {
  auto reports = RunCheck(-1, 20);
  std::int64_t most = 0;
  for (const auto& r : reports) most = std::max(most, r.max_staleness_seen);
  EXPECT_GT(most, 2) << "under ASP fast workers see arbitrarily stale values";
}

TEST(ClusterPs, OneServerOneWorker) { RunCheck(0, 0, 1, 1); }

TEST(ClusterPs, ClockedTableWithCustomFinalizer) {
  auto results = sched::RunLocalEach(Roles(), Quiet(), [](ps::Rank) {
    return std::make_shared<testing::MeanFinalizerJob>(6);
  });
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(ClusterPs, ClientRefusesMisuseWithClearErrors) {
  auto results = sched::RunLocalEach(Roles(), Quiet(), [](ps::Rank) {
    return std::make_shared<testing::ApiErrorsJob>();
  });
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(ClusterPs, BroadcastGatherAndBarriers) {
  auto results = sched::RunLocalEach(Roles(), Quiet(), [](ps::Rank) {
    return std::make_shared<testing::CollectivesJob>();
  });
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(ClusterPs, WorkerErrorStopsEveryRankWithItsMessage) {
  auto t0 = std::chrono::steady_clock::now();
  auto results = sched::RunLocalEach(Roles(), Quiet(), [](ps::Rank) {
    return std::make_shared<testing::FailingWorkerJob>(1, 3);
  });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  for (std::size_t r = 0; r < results.size(); ++r) {
    EXPECT_EQ(results[r].code(), StatusCode::kDataError) << "rank " << r << ": " << results[r].ToString();
    EXPECT_NE(results[r].message().find("rank 4 (worker 1)"), std::string::npos) << results[r].message();
    EXPECT_NE(results[r].message().find("train.txt:1832: feature \"7:x\" is not idx:value"), std::string::npos)
        << results[r].message();
  }
}

}  // namespace
}  // namespace ecps
