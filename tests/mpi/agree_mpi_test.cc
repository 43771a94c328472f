// launch::AgreeAcrossProcesses under mpirun (3 ranks): every process learns whether any
// process failed, and all of them agree on one exit code, the cause's.
#include <mpi.h>

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
