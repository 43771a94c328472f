// In-process cluster tests: scheduler + 2 servers + 3 workers as threads of this process.
#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

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

// Records, on each worker, the thread count the job was given and the concurrency that its
// parallel loops see.
class ThreadsJob final : public sched::Job {
 public:
  std::string name() const override { return "threads"; }
  std::vector<ps::TableSpec> Tables() const override { return {}; }
  Status SetupServer(ps::KVServer&) override { return Status::Ok(); }
  Status RunWorker(sched::JobContext& ctx) override {
    given = ctx.threads;
    seen = tbb::this_task_arena::max_concurrency();
    tbb::parallel_for(0, 64, [&](int) {
      const int now = ++running;
      int top = peak.load();
      while (now > top && !peak.compare_exchange_weak(top, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      --running;
    });
    return Status::Ok();
  }
  int given = 0, seen = 0;
  std::atomic<int> running{0}, peak{0};
};

TEST(ClusterPs, EveryWorkerRunsInAnArenaOfItsThreadCount) {
  for (int threads : {1, 3}) {
    auto options = Quiet();
    options.run.worker_threads = threads;
    std::vector<std::shared_ptr<ThreadsJob>> jobs;
    std::mutex mu;
    auto results = sched::RunLocalEach(Roles(1, 2), options, [&](ps::Rank) {
      auto j = std::make_shared<ThreadsJob>();
      std::lock_guard lock(mu);
      jobs.push_back(j);
      return j;
    });
    for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
    int workers = 0;
    for (const auto& j : jobs) {
      if (j->given == 0) continue;  // the scheduler and the server
      ++workers;
      EXPECT_EQ(j->given, threads);
      EXPECT_EQ(j->seen, threads);
      EXPECT_LE(j->peak.load(), threads);
    }
    EXPECT_EQ(workers, 2);
  }
}

}  // namespace
}  // namespace ecps
