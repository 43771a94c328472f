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

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts `command` through sh in a new process group; the guard kills the whole group when
// the test ends, so a failed assertion never leaves a job running.
class Spawned {
 public:
  explicit Spawned(const std::string& command) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);
  }
  ~Spawned() {
    if (pid_ > 0 && !reaped_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void reaped() { reaped_ = true; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Waits for the process up to `seconds`; returns its exit status, or -1 on timeout.
int WaitFor(Spawned& p, double seconds) {
  auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    int status = 0;
    if (waitpid(p.pid(), &status, WNOHANG) == p.pid()) {
      p.reaped();
      kill(-p.pid(), SIGKILL);  // anything the launcher left behind
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

bool WaitForFile(const fs::path& p, const std::string& needle, double seconds) {
  auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (fs::exists(p) && Slurp(p).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

fs::path FreshDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("ecps_{}_{}", name, getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// exec: the spawned process becomes mpirun itself, so its children are the ranks.
const char* kMpirun = "OMPI_MCA_pml=ob1 exec mpirun --oversubscribe --allow-run-as-root";

class KillRank : public ::testing::TestWithParam<int> {};

TEST_P(KillRank, SurvivorsExitNonZeroNamingTheDeadRank) {
  const int victim = GetParam();
  const fs::path dir = FreshDir("kill" + std::to_string(victim));
  // Each rank: start ecps in the background, record its pid, wait, record its exit code.
  const std::string rank_cmd = fmt::format(
      "{} demo --clocks 100000000 --keys 2000000 --slow-worker-ms 5 > {d}/log.$OMPI_COMM_WORLD_RANK 2>&1 & "
      "echo $! > {d}/pid.$OMPI_COMM_WORLD_RANK; wait $!; echo $? > {d}/rc.$OMPI_COMM_WORLD_RANK",
      ECPS_BINARY, fmt::arg("d", dir.string()));
  const std::string cmd = fmt::format("{} --enable-recovery -np 4 sh -c '{}' > {}/mpirun.log 2>&1",
                                      kMpirun, rank_cmd, dir.string());
  Spawned mpirun(cmd);
  ASSERT_TRUE(WaitForFile(dir / "log.0", "shard plan", 60)) << "the job did not start";
  for (int r = 0; r < 4; ++r) ASSERT_TRUE(WaitForFile(dir / fmt::format("pid.{}", r), "", 30));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let training run
  const pid_t victim_pid = std::stoi(Slurp(dir / fmt::format("pid.{}", victim)));
  ASSERT_EQ(kill(victim_pid, SIGKILL), 0);
  const auto killed_at = Clock::now();
  const int rc = WaitFor(mpirun, 60);
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
  const std::string cmd = fmt::format(
      "{} -np 4 {} demo --clocks 100000000 --slow-worker-ms 20 > {d}/out.log 2>&1", kMpirun, ECPS_BINARY,
      fmt::arg("d", dir.string()));
  Spawned mpirun(cmd);
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
  const int rc = WaitFor(mpirun, 60);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - killed_at).count(), 30.0);
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, -1);
  const std::string log = Slurp(dir / "out.log");
  EXPECT_NE(log.find("exited on signal 9"), std::string::npos) << log;
  fs::remove_all(dir);
}

}  // namespace
