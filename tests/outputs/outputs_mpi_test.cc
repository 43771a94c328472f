// SIGTERM to mpirun during a training. Open MPI 4 passes it on to every rank (SIGCONT, then
// SIGTERM and later SIGKILL, each after odls_base_sigkill_timeout, 1 s): each rank turns
// it into a job abort ("interrupted by SIGTERM"), rank 0 removes its staged outputs, and the
// job leaves no --out (an existing one as it was) and nothing beside it. mpirun's own exit
// code on a signal is Open MPI's, so the test reads what the ranks said. The test gives the
// ranks 10 s before SIGKILL instead of 1 s: it checks ecps's own way out, which takes tens of
// milliseconds, not whether a loaded machine schedules it within Open MPI's second (a rank
// killed anyway leaves only the hidden staging folder, which the next run on that --out
// clears: unit_util.StagedOutput.WhatAKilledRunLeftIsClearedByTheNextRun).
#include <signal.h>

#include <gtest/gtest.h>

#include "tests/common/background.h"

namespace ecps::testing {
namespace {

fs::path Root() { return fs::temp_directory_path() / fmt::format("ecps_outputs_mpi_{}", getpid()); }

class MpiInterrupt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(Root());
    fs::create_directories(Root());
    const std::string gen =
        fmt::format("{} generate --out {}/shop --users 2000 --seed 7 > {}/gen.log 2>&1",
                    ECPS_BINARY, Root().string(), Root().string());
    const int rc = std::system(gen.c_str());  // NOLINT(concurrency-mt-unsafe)
    ASSERT_EQ(rc, 0) << Slurp(Root() / "gen.log");
  }
  static void TearDownTestSuite() { fs::remove_all(Root()); }

  static fs::path Dir(const std::string& name) { return FreshDir(Root(), name); }

  // 1 scheduler, 1 server, 2 workers; runs until it is stopped.
  static std::string Job(const fs::path& out) {
    return fmt::format(
        "env OMPI_MCA_pml=ob1 OMPI_MCA_odls_base_sigkill_timeout=10 mpirun --allow-run-as-root "
        "--oversubscribe -np 4 {} train lr --train "
        "{}/shop/impressions.libsvm --format libsvm --epochs 100000 --out {}",
        ECPS_BINARY, Root().string(), out.string());
  }

  // Starts the job, waits until it writes, sends SIGTERM to mpirun and waits for the end.
  static std::string RunAndTerminate(const fs::path& dir) {
    Background mpirun(Job(dir / "out"), dir / "log");
    EXPECT_TRUE(mpirun.WaitForLog("lr: epoch 1/", 240)) << mpirun.log();
    EXPECT_EQ(kill(mpirun.pid(), SIGTERM), 0);
    const Ended e = mpirun.Wait(120);
    EXPECT_TRUE(e.exited || e.signal != 0) << "mpirun still running 120 s after SIGTERM\n"
                                           << mpirun.log();
    return mpirun.log();
  }
};

TEST_F(MpiInterrupt, SigtermToMpirunLeavesNoFolder) {
  const fs::path dir = Dir("fresh");
  const std::string log = RunAndTerminate(dir);
  EXPECT_NE(log.find("interrupted by SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(Names(dir), std::set<std::string>{"log"}) << "the job left something behind\n" << log;
}

TEST_F(MpiInterrupt, SigtermToMpirunLeavesAnExistingFolderAsItWas) {
  const fs::path dir = Dir("existing");
  fs::create_directories(dir / "out");
  std::ofstream(dir / "out" / "metrics.json") << "{\"from\": \"an earlier run\"}\n";
  const auto before = Contents(dir / "out");
  const std::string log = RunAndTerminate(dir);
  EXPECT_NE(log.find("interrupted by SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(Contents(dir / "out"), before) << log;
  EXPECT_EQ(Names(dir), (std::set<std::string>{"log", "out"})) << "the job left something behind\n"
                                                               << log;
}

}  // namespace
}  // namespace ecps::testing
