// launch::AgreeAcrossProcesses under mpirun (3 ranks): every process learns whether any
// process failed, and all of them agree on one exit code, the cause's.
#include <mpi.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "launch/cluster.h"

namespace ecps::launch {
namespace {

int Rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

TEST(AgreeAcrossProcesses, EveryProcessSucceededStaysOk) {
  EXPECT_TRUE(AgreeAcrossProcesses(Status::Ok()).ok());
}

TEST(AgreeAcrossProcesses, ADataErrorOnOneRankIsEveryRanksCode) {
  const Status mine = Rank() == 1 ? DataError("a.csv:3: field \"age\": not a number") : Status::Ok();
  const Status agreed = AgreeAcrossProcesses(mine);
  EXPECT_EQ(agreed.code(), StatusCode::kDataError) << agreed.ToString();
  if (Rank() == 1) {
    EXPECT_EQ(agreed.message(), mine.message());
  } else {
    EXPECT_NE(agreed.message().find("another rank failed in this step (data error"),
              std::string::npos)
        << agreed.message();
  }
}

TEST(AgreeAcrossProcesses, TheCauseOutranksTheAbortItCaused) {
  // Rank 0 refused its input; rank 2 saw the job aborted because of it; rank 1 finished.
  const int r = Rank();
  const Status mine = r == 0   ? InvalidArgument("output folder o is in use by another ecps run")
                      : r == 2 ? Aborted("the job was aborted by rank 0")
                               : Status::Ok();
  const Status agreed = AgreeAcrossProcesses(mine);
  EXPECT_EQ(agreed.code(), StatusCode::kInvalidArgument) << agreed.ToString();
  if (r != 1) {
    EXPECT_EQ(agreed.message(), mine.message());
  }
}

TEST(AgreeAcrossProcesses, AnUnrelatedFailureKeepsItsOwnCode) {
  const int r = Rank();
  const Status mine = r == 0 ? InvalidArgument("bad option") : r == 1 ? IoError("disk full") : Status::Ok();
  const Status agreed = AgreeAcrossProcesses(mine);
  EXPECT_EQ(agreed.code(), r == 1 ? StatusCode::kIoError : StatusCode::kInvalidArgument)
      << agreed.ToString();
}

// Last: it leaves ranks 0 and 1's reduction to be completed by rank 2's late call.
TEST(AgreeAcrossProcesses, ZZAProcessThatNeverComesIsReportedAfterTheTimeout) {
  const int r = Rank();
  if (r == 2) {  // "stopped between jobs": here, late by ten times the others' timeout
    std::this_thread::sleep_for(std::chrono::seconds(5));
    EXPECT_TRUE(AgreeAcrossProcesses(Status::Ok(), 0.5).ok());
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const Status agreed = AgreeAcrossProcesses(Status::Ok(), 0.5);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(agreed.code(), StatusCode::kPeerLost) << agreed.ToString();
  EXPECT_NE(agreed.message().find("no word from every other process within 0.5 s"), std::string::npos)
      << agreed.message();
  EXPECT_LT(waited, 4.0) << "it waited for the late process instead of its timeout";
}

}  // namespace
}  // namespace ecps::launch

int main(int argc, char** argv) {
  if (const ecps::Status s = ecps::launch::JoinMpiIfLaunched(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
