// The cluster scenarios under mpirun: one rank per process over the MPI transport.
// Run as `mpirun -np N mpi_ps`; every rank runs every test, rank 0 prints the results.
#include <mpi.h>

#include <cstdlib>

#include <fmt/format.h>
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
  o.default_timeout_s = 60;
  ps::Node node(roles, std::move(transport).value(), o,
                ps::MakeRankLogger(roles, WorldRank(), std::make_shared<spdlog::sinks::null_sink_mt>(),
                                   spdlog::level::off));
  sched::RunOptions run;
  run.consistency = staleness == 0 ? ps::Consistency::Bsp() : ps::Consistency::Ssp(staleness);
  return sched::RunNode(node, *job, run);
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

// Rank 1 sends on a transport after rank 0 has finished with it (as a heartbeat sent after
// the scheduler of a job stopped receiving), then both start the next transport, as the
// second job of the same processes does: nothing of the first may arrive on the second.
TEST(MpiTransport, LateMessagesOfAFinishedTransportNeverReachTheNext) {
  const int rank = WorldRank();
  auto control = [](ps::Transport& t, std::uint64_t value) {
    ps::Message m;
    m.head.receiver = 0;
    m.head.topic = 7;
    m.control = ps::EncodeControl(value);
    EXPECT_TRUE(t.Send(std::move(m)).ok());
  };
  // Rank 0: receives `n` control messages with values from..from+n-1; says what went wrong.
  auto receive = [](ps::Transport& t, std::uint64_t from, std::uint64_t n) -> std::string {
    for (std::uint64_t i = 0; i < n; ++i) {
      auto got = t.Recv(ps::DeadlineIn(60));
      if (!got.ok()) return fmt::format("message {}: {}", i, got.status().ToString());
      std::uint64_t value = 0;
      if (got->head.type != ps::MsgType::kControl || !ps::DecodeControl(got->control, &value).ok() ||
          value != from + i) {
        return fmt::format("message {}: a {} message (value {}), expected control message {}", i,
                           ps::MsgTypeName(got->head.type), value, from + i);
      }
    }
    return "";
  };
  std::string error;
  auto first = std::move(ps::MakeMpiTransport(MPI_COMM_WORLD)).value();
  if (rank == 1) {
    for (std::uint64_t i = 0; i < 5; ++i) control(*first, i);
  }
  if (rank == 0) error = receive(*first, 0, 5);
  if (rank == 0) first.reset();
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 1) {
    for (int i = 0; i < 3; ++i) {
      ps::Message beat;
      beat.head.type = ps::MsgType::kHeartbeat;
      beat.head.receiver = 0;
      EXPECT_TRUE(first->Send(std::move(beat)).ok());
    }
  }
  first.reset();  // lets the sends leave
  MPI_Barrier(MPI_COMM_WORLD);

  auto second = std::move(ps::MakeMpiTransport(MPI_COMM_WORLD)).value();
  if (rank == 1) {
    for (std::uint64_t i = 0; i < 20; ++i) control(*second, 100 + i);
  }
  if (rank == 0 && error.empty()) error = receive(*second, 100, 20);
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(error, "");
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
