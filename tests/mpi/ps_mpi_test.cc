// The cluster scenarios under mpirun: one rank per process over the MPI transport.
// Run as `mpirun -np N mpi_ps`; every rank runs every test, rank 0 prints the results.
#include <mpi.h>

#include <cstdlib>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "models/pscheck/pscheck.h"
#include "ps/logging.h"
#include "ps/mpi_transport.h"
#include "tests/common/scenarios.h"

namespace ecps {
namespace {

int WorldSize() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}
int WorldRank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// Runs `job` on this rank; returns this rank's status. Servers: 2 from 8 ranks up, else 1.
Status RunHere(const std::shared_ptr<sched::Job>& job, int staleness = 0) {
  const int size = WorldSize();
  auto roles = *ps::RoleTable::FromWorldSize(size, size >= 8 ? 2 : 1);
  auto transport = ps::MakeMpiTransport(MPI_COMM_WORLD);
  if (!transport.ok()) return transport.status();
  ps::NodeOptions o;
  o.staleness = staleness;
  o.default_timeout_s = 60;
  ps::Node node(roles, std::move(transport).value(), o,
                ps::MakeRankLogger(roles, WorldRank(), std::make_shared<spdlog::sinks::null_sink_mt>(),
                                   spdlog::level::off));
  return sched::RunNode(node, *job);
}

std::shared_ptr<models::PsCheckJob> Check(int slow_ms) {
  models::PsCheckOptions opt;
  opt.keys = 20000;
  opt.clocks = 8;
  opt.slow_worker_ms = slow_ms;
  return std::make_shared<models::PsCheckJob>(opt);
}

TEST(MpiPs, BspSumsAreExact) {
  auto job = Check(0);
  Status s = RunHere(job);
  ASSERT_TRUE(s.ok()) << s.ToString();
  if (WorldRank() == 0) {
    ASSERT_EQ(static_cast<int>(job->reports().size()), WorldSize() - 1 - (WorldSize() >= 8 ? 2 : 1));
    for (const auto& r : job->reports()) EXPECT_EQ(r.max_staleness_seen, 0);
  }
}

TEST(MpiPs, SspBoundsStaleness) {
  auto job = Check(30);
  Status s = RunHere(job, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  if (WorldRank() == 0) {
    std::int64_t most = 0;
    for (const auto& r : job->reports()) {
      EXPECT_LE(r.max_staleness_seen, 2);
      most = std::max(most, r.max_staleness_seen);
    }
    EXPECT_GT(most, 0);
  }
}

TEST(MpiPs, AspFinalSumsAreExact) {
  Status s = RunHere(Check(10), -1);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(MpiPs, ClockedTableWithCustomFinalizer) {
  Status s = RunHere(std::make_shared<testing::MeanFinalizerJob>(6));
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(MpiPs, ClientRefusesMisuse) {
  Status s = RunHere(std::make_shared<testing::ApiErrorsJob>());
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(MpiPs, BroadcastGatherAndBarriers) {
  Status s = RunHere(std::make_shared<testing::CollectivesJob>());
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(MpiPs, WorkerErrorStopsEveryRank) {
  Status s = RunHere(std::make_shared<testing::FailingWorkerJob>(1, 3));
  EXPECT_EQ(s.code(), StatusCode::kDataError) << s.ToString();
  EXPECT_NE(s.message().find("train.txt:1832"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ecps

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0 && std::getenv("ECPS_TEST_ALL_RANKS") == nullptr) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  // Every rank must agree: a failure on any rank fails the run.
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
