// train kmeans under mpirun (-np 3: scheduler, server, worker): one rank is killed with SIGKILL
// right after a checkpoint became valid; the job is resumed under mpirun -np 4 (two workers)
// and must give the bytes of an uninterrupted single-node run. The same under
// launch/ecps-mpirun: a lost rank is reported with exit code 4, and SIGUSR1 stops the job
// after a checkpoint with exit code 75.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <fstream>

#include "tests/common/run_ecps.h"
#include "tests/kmeans/checkpoint_testing.h"

namespace ecps {
namespace {
namespace fs = std::filesystem;

const char* kMpirun = "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root";

// The first child of `parent` for which `match(its /proc folder, its command name)` holds;
// -1 if none (yet).
template <class Match>
pid_t ChildWhere(pid_t parent, Match match) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (!(stat >> pid >> comm >> state >> ppid) || ppid != parent) continue;
    if (match(e.path(), comm)) return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

// The pid of MPI rank `rank` among the children of `mpirun` (from their environment); -1 if
// not (yet) there.
pid_t RankPid(pid_t mpirun, int rank) {
  const std::string want = fmt::format("OMPI_COMM_WORLD_RANK={}", rank);
  return ChildWhere(mpirun, [&](const fs::path& proc, const std::string&) {
    const std::string env = testing::Slurp(proc / "environ");
    std::size_t at = 0;
    for (std::size_t end; (end = env.find('\0', at)) != std::string::npos; at = end + 1) {
      if (env.compare(at, end - at, want) == 0) return true;
    }
    return false;
  });
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

// launch/ecps-mpirun (mpirun --enable-recovery, exit codes from the ranks' last lines).
std::string EcpsMpirun() {
  return fmt::format("env ECPS={} {}/launch/ecps-mpirun", ECPS_BINARY, ECPS_SOURCE_DIR);
}

// The pid of mpirun (Debian's is a link to orterun) started by `wrapper`; -1 if none (yet).
pid_t MpirunOf(pid_t wrapper) {
  return ChildWhere(wrapper, [](const fs::path&, const std::string& comm) {
    return comm == "(mpirun)" || comm == "(orterun)";
  });
}

// A rank killed with SIGKILL under ecps-mpirun: the others find the loss by their heartbeats
// (3 s here) and stop; the job exits 4 naming the lost rank, publishes nothing, and the last
// checkpoint continues it to the uninterrupted run's bytes.
class LostRankEcpsMpirun : public ::testing::TestWithParam<int> {};

TEST_P(LostRankEcpsMpirun, Exits4NamingTheRankAndTheCheckpointContinues) {
  const int victim = GetParam();
  kmtest::TempDir dir(fmt::format("lost-mpi{}", victim));
  const std::string train = kmtest::UniformDataAndFullRun(dir);
  ASSERT_FALSE(HasFailure());

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  testing::Background run(
      fmt::format("{} -np 4 {} --heartbeat-timeout 3 --out {} --checkpoint-dir {} "
                  "--checkpoint-every 2",
                  EcpsMpirun(), train, out, ckpt),
      dir / "killed.log");
  pid_t mpirun = -1, pid = -1;
  for (int i = 0; i < 3000 && pid < 0; ++i) {
    if (mpirun < 0) mpirun = MpirunOf(run.pid());
    if (mpirun > 0) pid = RankPid(mpirun, victim);
    if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(pid, 0) << "rank " << victim << " not found";
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 10, pid)) << run.log();
  const auto ended = run.Wait(60);
  const std::string log = run.log();
  ASSERT_TRUE(ended.exited && ended.code == 4) << ended.Describe() << "\n" << log;
  const std::string lost = victim == 0 ? "lost rank 0 (scheduler)" : "lost rank 2 (worker 0)";
  EXPECT_NE(log.find("ecps: error: " + lost), std::string::npos) << log;
  EXPECT_EQ(log.find("ecps-exit:"), std::string::npos) << "the exit-code lines stay hidden";
  EXPECT_EQ(log.find("PMIX ERROR"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out)) << "a failed job published its outputs";

  const auto resumed = testing::RunEcps(fmt::format(
      "{} --local --workers 2 --out {} --checkpoint-dir {} --resume", train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  kmtest::ExpectSameModel(dir / "full", out);
}

INSTANTIATE_TEST_SUITE_P(Victim, LostRankEcpsMpirun, ::testing::Values(0, 2), VictimName);

// SIGUSR1 to ecps-mpirun reaches every rank (through mpirun): the job writes a checkpoint
// after its current iteration and every rank exits 75; resumed with another worker count it
// gives the uninterrupted run's bytes. Sent once rank 0 staged its output folder, long before
// the last iteration.
TEST(KMeansCheckpointStopMpi, Sigusr1StopsEveryRankWith75AndTheResumeGivesTheSameBytes) {
  kmtest::TempDir dir("usr1-mpi");
  const std::string train = kmtest::UniformDataAndFullRun(dir);
  ASSERT_FALSE(HasFailure());

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  testing::Background run(fmt::format("{} -np 4 {} --out {} --checkpoint-dir {} "
                                      "--checkpoint-every 500",
                                      EcpsMpirun(), train, out, ckpt),
                          dir / "stopped.log");
  const fs::path staging = dir.path() / ".out.ecps-staging";
  for (int i = 0; i < 30000 && !fs::exists(staging); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(fs::exists(staging)) << run.log();
  ASSERT_EQ(kill(run.pid(), SIGUSR1), 0);
  const auto ended = run.Wait(60);
  const std::string log = run.log();
  ASSERT_TRUE(ended.exited && ended.code == 75) << ended.Describe() << "\n" << log;
  EXPECT_NE(log.find("stopped after writing checkpoint " + ckpt + "/clock-"), std::string::npos)
      << log;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_EQ(testing::Names(ckpt).size(), 1u);

  const auto resumed = testing::RunEcps(fmt::format(
      "{} --local --workers 3 --out {} --checkpoint-dir {} --resume", train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  kmtest::ExpectSameModel(dir / "full", out);
}

}  // namespace
}  // namespace ecps
