// train lr under mpirun (-np 4: scheduler, server, two workers): one rank is killed with
// SIGKILL right after a checkpoint became valid; the job is resumed under mpirun -np 5 (two
// servers) and must give the bytes of an uninterrupted single-node run with two workers.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/common/mpi_ranks.h"
#include "tests/common/run_ecps.h"
#include "tests/lr/checkpoint_testing.h"

namespace ecps {
namespace {
namespace fs = std::filesystem;

const char* kMpirun = "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root";

class LrCheckpointMpi : public ::testing::TestWithParam<int> {};

TEST_P(LrCheckpointMpi, KilledRankThenResumeWithTwoServersGivesTheSameBytes) {
  const int victim = GetParam();
  testing::TempDir dir(fmt::format("ckpt-mpi{}", victim));
  lrtest::WriteCtr(dir);
  const std::string train = lrtest::Train(dir);
  const auto full = testing::RunEcps(train + " --local --workers 2 --out " + (dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  const std::string ck_opts = fmt::format("--checkpoint-dir {} --checkpoint-every 2", ckpt);
  testing::Background run(
      fmt::format("{} -np 4 {} {} --servers 1 --out {} {}", kMpirun, ECPS_BINARY, train, out, ck_opts),
      dir / "killed.log");
  pid_t pid = -1;
  for (int i = 0; i < 3000 && pid < 0; ++i) {
    pid = testing::MpiRankPid(run.pid(), victim);
    if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(pid, 0) << "rank " << victim << " not found";
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 20, pid)) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_TRUE(ended.signal != 0 || (ended.exited && ended.code != 0)) << ended.Describe();
  ASSERT_FALSE(fs::exists(out)) << "a killed job published its outputs";

  const std::string resume = fmt::format("{} -np 5 {} {} --servers 2 --out {} {} --resume 2>{}", kMpirun,
                                         ECPS_BINARY, train, out, ck_opts, dir / "resumed.err");
  const int rc = std::system(resume.c_str());  // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(rc, 0) << resume << "\n" << testing::ReadText(dir / "resumed.err");
  lrtest::ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
  EXPECT_EQ(m["roles"]["servers"], 2);
  const std::string from = m["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind(ckpt + "/clock-", 0), 0u) << from;
}

std::string VictimName(const ::testing::TestParamInfo<int>& victim) {
  static const char* const kNames[] = {"scheduler", "server", "worker0", "worker1"};
  return kNames[victim.param];
}

INSTANTIATE_TEST_SUITE_P(Victim, LrCheckpointMpi, ::testing::Values(0, 1, 2, 3), VictimName);

}  // namespace
}  // namespace ecps
