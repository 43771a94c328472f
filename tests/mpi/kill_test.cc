// Failure detection under mpirun: one rank of a running job is killed with SIGKILL.
//
// 1. With --enable-recovery, mpirun leaves the survivors alone, so ecps's own heartbeats
//    must find the loss: every surviving rank exits non-zero with a message that names the
//    lost rank, within 30 s. Each rank runs behind a small shell that records its pid and
//    exit code. Pushes are large (2M keys), so the kill often lands in the middle of a
//    message: a receiver must not wait for the rest of it longer than the heartbeat timeout.
// 2. With mpirun's defaults, the launcher itself tears the job down: the run must still end
//    non-zero within 30 s, naming the rank.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/background.h"

namespace ecps::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool WaitForFile(const fs::path& p, const std::string& needle, double seconds) {
  auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (fs::exists(p) && Slurp(p).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

fs::path FreshDir(const std::string& name) {
  return testing::FreshDir(fs::temp_directory_path(), fmt::format("ecps_{}_{}", name, getpid()));
}

// The exit code of a process that ended (128 + the signal when killed), -1 while it runs.
int ExitCode(const Ended& e) { return e.exited ? e.code : e.signal ? 128 + e.signal : -1; }

// Background execs the command: the process is mpirun itself, so its children are the ranks.
const char* kMpirun = "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root";

class KillRank : public ::testing::TestWithParam<int> {};

TEST_P(KillRank, SurvivorsExitNonZeroNamingTheDeadRank) {
  const int victim = GetParam();
  const fs::path dir = FreshDir("kill" + std::to_string(victim));
  // Each rank: start ecps in the background, record its pid, wait, record its exit code.
  const std::string rank_cmd = fmt::format(
      "{} demo --clocks 100000000 --keys 2000000 --slow-worker-ms 5 > {d}/log.$OMPI_COMM_WORLD_RANK 2>&1 & "
      "echo $! > {d}/pid.$OMPI_COMM_WORLD_RANK; wait $!; echo $? > {d}/rc.$OMPI_COMM_WORLD_RANK",
      ECPS_BINARY, fmt::arg("d", dir.string()));
  Background mpirun(fmt::format("{} --enable-recovery -np 4 sh -c '{}'", kMpirun, rank_cmd),
                    dir / "mpirun.log");
  ASSERT_TRUE(WaitForFile(dir / "log.0", "shard plan", 60)) << "the job did not start";
  for (int r = 0; r < 4; ++r) ASSERT_TRUE(WaitForFile(dir / fmt::format("pid.{}", r), "", 30));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let training run
  const pid_t victim_pid = std::stoi(Slurp(dir / fmt::format("pid.{}", victim)));
  ASSERT_EQ(kill(victim_pid, SIGKILL), 0);
  const auto killed_at = Clock::now();
  const int rc = ExitCode(mpirun.Wait(60));
  const double took = std::chrono::duration<double>(Clock::now() - killed_at).count();
  ASSERT_NE(rc, -1) << "mpirun still running 60 s after the kill: a hang";
  EXPECT_LT(took, 30.0) << "survivors must stop within 30 s";
  const std::string lost = victim == 0 ? "lost rank 0 (scheduler)" : fmt::format("lost rank {} (", victim);
  for (int r = 0; r < 4; ++r) {
    if (r == victim) continue;
    const std::string code = Slurp(dir / fmt::format("rc.{}", r));
    ASSERT_FALSE(code.empty()) << "rank " << r << " left no exit code";
    EXPECT_NE(std::stoi(code), 0) << "rank " << r << " exited 0 after losing rank " << victim;
    const std::string log = Slurp(dir / fmt::format("log.{}", r));
    EXPECT_NE(log.find("ecps: error: " + lost), std::string::npos) << "rank " << r << " log:\n" << log;
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Mpi, KillRank, ::testing::Values(0, 1, 2),
                         [](const ::testing::TestParamInfo<int>& p) { return "rank" + std::to_string(p.param); });

TEST(KillRankDefaultMpirun, LauncherEndsTheJobNamingTheRank) {
  const fs::path dir = FreshDir("killdefault");
  Background mpirun(
      fmt::format("{} -np 4 {} demo --clocks 100000000 --slow-worker-ms 20", kMpirun, ECPS_BINARY),
      dir / "out.log");
  ASSERT_TRUE(WaitForFile(dir / "out.log", "shard plan", 60));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // The ranks are mpirun's children (mpirun replaced the shell: exec).
  const std::string pids = [&] {
    FILE* p = popen(fmt::format("pgrep -P {} | sort -n", mpirun.pid()).c_str(), "r");
    std::string out;
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    return out;
  }();
  std::istringstream ss(pids);
  std::vector<pid_t> ranks;
  for (pid_t x; ss >> x;) ranks.push_back(x);
  ASSERT_EQ(ranks.size(), 4u) << pids;
  ASSERT_EQ(kill(ranks[3], SIGKILL), 0);
  const auto killed_at = Clock::now();
  const int rc = ExitCode(mpirun.Wait(60));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - killed_at).count(), 30.0);
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, -1);
  const std::string log = Slurp(dir / "out.log");
  EXPECT_NE(log.find("exited on signal 9"), std::string::npos) << log;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::testing
