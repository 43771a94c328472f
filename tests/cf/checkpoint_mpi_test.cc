// train itemcf under mpirun (-np 4: scheduler, server, two workers): one rank,
// the scheduler, the server or a worker, is killed with SIGKILL right after a
// mid-similarity checkpoint became valid; the job is resumed under mpirun -np 5
// (two servers) and must give the bytes of an uninterrupted single-node run
// with two workers; a worker killed and the job resumed with three workers gives the same
// model.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdlib>
#include <fstream>

#include "tests/cf/checkpoint_testing.h"
#include "tests/common/mpi_ranks.h"
#include "tests/common/run_ecps.h"

namespace ecps {
namespace {

using namespace testing_cf;

const char* kMpirun = "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root";

std::string CheckpointOptions(const fs::path& ckpt) {
  return fmt::format("--checkpoint-dir {} --checkpoint-every 5", ckpt.string());
}

// `train` under mpirun -np 4 (scheduler, server, two workers) into `out`, checkpoints into
// `ckpt`; rank `victim` is killed with SIGKILL once checkpoint 56 is valid. The job must fail
// and publish nothing.
void RunAndKill(const std::string& train, const fs::path& dir, const fs::path& out,
                const fs::path& ckpt, int victim) {
  testing::Background run(fmt::format("{} -np 4 {} {} --servers 1 --out {} {}", kMpirun,
                                      ECPS_BINARY, train, out.string(), CheckpointOptions(ckpt)),
                          (dir / "killed.log").string());
  pid_t pid = -1;
  for (int i = 0; i < 3000 && pid < 0; ++i) {
    pid = testing::MpiRankPid(run.pid(), victim);
    if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(pid, 0) << "rank " << victim << " not found";
  ASSERT_TRUE(KillAtCheckpoint(run, ckpt, 56, pid)) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_TRUE(ended.signal != 0 || (ended.exited && ended.code != 0)) << ended.Describe();
  ASSERT_FALSE(fs::exists(out)) << "a killed job published its outputs";
}

class CfCheckpointMpi : public ::testing::TestWithParam<int> {};

TEST_P(CfCheckpointMpi, KilledRankThenResumeWithTwoServersGivesTheSameBytes) {
  const int victim = GetParam();
  const auto dir = TempDir(fmt::format("ckpt_mpi{}", victim));
  const std::string train = CheckpointTrain("itemcf", WriteCheckpointData(dir));
  const auto full = testing::RunEcps(
      fmt::format("{} --local --workers 2 --out {}", train, (dir / "full").string()));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const fs::path ckpt = (dir / "ckpt").string(), out = (dir / "out").string();
  const std::string ck_opts = CheckpointOptions(ckpt);
  ASSERT_NO_FATAL_FAILURE(RunAndKill(train, dir, out, ckpt, victim));

  const std::string resume =
      fmt::format("timeout 180 {} -np 5 {} {} --servers 2 --out {} {} --resume 2>{}", kMpirun,
                  ECPS_BINARY, train, out.string(), ck_opts, (dir / "resumed.err").string());
  const int rc = std::system(resume.c_str());  // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(rc, 0) << resume << "\n" << Slurp(dir / "resumed.err");
  ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(Slurp(out / "metrics.json"));
  const std::string from = m["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind((ckpt / "clock-").string(), 0), 0u) << from;
  fs::remove_all(dir);
}

// A worker killed under mpirun -np 4 (two workers) right after a mid-similarity checkpoint;
// resumed under mpirun -np 6 with two servers and three workers: the users and the tasks left
// are dealt anew, and the model is the two-worker run's.
TEST(CfCheckpointMpiWorkers, KilledWorkerThenResumeWithThreeWorkersGivesTheSameModel) {
  const auto dir = TempDir("ckpt_mpi_workers");
  const std::string train = CheckpointTrain("itemcf", WriteCheckpointData(dir));
  for (int workers : {2, 3}) {
    const auto full = testing::RunEcps(fmt::format("{} --local --workers {} --out {}/full{}",
                                                   train, workers, dir.string(), workers));
    ASSERT_EQ(full.exit_code, 0) << full.err;
  }
  const fs::path ckpt = dir / "ckpt", out = dir / "out";
  const std::string ck_opts = CheckpointOptions(ckpt);
  ASSERT_NO_FATAL_FAILURE(RunAndKill(train, dir, out, ckpt, 3));

  const std::string resume =
      fmt::format("timeout 180 {} -np 6 {} {} --servers 2 --out {} {} --resume 2>{}", kMpirun,
                  ECPS_BINARY, train, out.string(), ck_opts, (dir / "resumed.err").string());
  const int rc = std::system(resume.c_str());  // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(rc, 0) << resume << "\n" << Slurp(dir / "resumed.err");
  ExpectSameModelWithOtherWorkers((dir / "full2").string(), (dir / "full3").string(),
                                  out.string());
  fs::remove_all(dir);
}

std::string VictimName(const ::testing::TestParamInfo<int>& victim) {
  static const char* const kNames[] = {"scheduler", "server", "worker"};
  return kNames[victim.param == 0 ? 0 : victim.param == 1 ? 1 : 2];
}

// Ranks: 0 scheduler, 1 server, 2 and 3 workers.
INSTANTIATE_TEST_SUITE_P(Victim, CfCheckpointMpi, ::testing::Values(0, 1, 3), VictimName);

}  // namespace
}  // namespace ecps
