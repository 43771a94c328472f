// train kmeans under mpirun (-np 3: scheduler, server, worker): one rank is killed with SIGKILL
// right after a checkpoint became valid; the job is resumed under mpirun -np 4 (two workers)
// and must give the bytes of an uninterrupted single-node run.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <fstream>

#include "tests/common/run_ecps.h"
#include "tests/kmeans/checkpoint_testing.h"

namespace ecps {
namespace {
namespace fs = std::filesystem;

const char* kMpirun = "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root";

// The pid of MPI rank `rank` among the children of `mpirun` (from their environment); -1 if
// not (yet) there.
pid_t RankPid(pid_t mpirun, int rank) {
  const std::string want = fmt::format("OMPI_COMM_WORLD_RANK={}", rank);
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (!(stat >> pid >> comm >> state >> ppid) || ppid != mpirun) continue;
    const std::string env = testing::Slurp(e.path() / "environ");
    std::size_t at = 0;
    for (std::size_t end; (end = env.find('\0', at)) != std::string::npos; at = end + 1) {
      if (env.compare(at, end - at, want) == 0) return static_cast<pid_t>(std::stol(name));
    }
  }
  return -1;
}

class KMeansCheckpointMpi : public ::testing::TestWithParam<int> {};

TEST_P(KMeansCheckpointMpi, KilledRankThenResumeWithTwoWorkersGivesTheSameBytes) {
  const int victim = GetParam();
  kmtest::TempDir dir(fmt::format("ckpt-mpi{}", victim));
  kmtest::WriteUniformUsers(dir / "users.csv", 100000);
  const std::string train = kmtest::UniformTrain(dir / "users.csv");
  const auto full = testing::RunEcps(train + " --local --workers 2 --out " + (dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  const std::string ck_opts = fmt::format("--checkpoint-dir {} --checkpoint-every 2", ckpt);
  testing::Background run(fmt::format("{} -np 3 {} {} --servers 1 --out {} {}", kMpirun,
                                      ECPS_BINARY, train, out, ck_opts),
                          dir / "killed.log");
  pid_t pid = -1;
  for (int i = 0; i < 3000 && pid < 0; ++i) {
    pid = RankPid(run.pid(), victim);
    if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(pid, 0) << "rank " << victim << " not found";
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 10, pid)) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_TRUE(ended.signal != 0 || (ended.exited && ended.code != 0)) << ended.Describe();
  ASSERT_FALSE(fs::exists(out)) << "a killed job published its outputs";

  const std::string resume =
      fmt::format("{} -np 4 {} {} --servers 1 --out {} {} --resume 2>{}", kMpirun, ECPS_BINARY,
                  train, out, ck_opts, dir / "resumed.err");
  const int rc = std::system(resume.c_str());  // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(rc, 0) << resume << "\n" << kmtest::ReadFile(dir / "resumed.err");
  kmtest::ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(kmtest::ReadFile(out + "/metrics.json"));
  EXPECT_EQ(m["cluster"]["workers"], 2);
  const std::string from = m["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind(ckpt + "/clock-", 0), 0u) << from;
}

std::string VictimName(const ::testing::TestParamInfo<int>& victim) {
  static const char* const kNames[] = {"scheduler", "server", "worker"};
  return kNames[victim.param];
}

INSTANTIATE_TEST_SUITE_P(Victim, KMeansCheckpointMpi, ::testing::Values(0, 1, 2), VictimName);

}  // namespace
}  // namespace ecps
