// A training job submitted with sbatch to a real single-node Slurm cluster started for the
// test (launch/slurm/local-cluster.sh), using the template users copy
// (launch/slurm/train.sbatch): 4 tasks under srun --mpi=pmix, roles from the rank. Then
// checkpoints: SIGUSR1 to the batch shell (what --signal=B:USR1@<s> sends before the time
// limit) stops a k-means job after a checkpoint with exit code 75; the job requeues itself
// and resumes, or a second job of a chain resumes with ECPS_RESUME=1; both end with the
// model of an uninterrupted run. A task killed while training, or while starting (the
// start-up watchdog), ends the job with exit code 4.
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {
namespace fs = std::filesystem;

struct Run {
  int rc;
  std::string out;
};

Run Sh(const std::string& cmd) {
  Run r{0, {}};
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The pid of task `task` of Slurm job `job` of the cluster whose configuration is `conf` (an
// ecps process, from its environment: other tests' clusters number their jobs alike); -1 if
// none.
pid_t TaskPid(const std::string& conf, const std::string& job, int task) {
  const std::string want_job = "SLURM_JOB_ID=" + job;
  const std::string want_task = fmt::format("SLURM_PROCID={}", task);
  const std::string want_conf = "SLURM_CONF=" + conf;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (Slurp(e.path() / "comm") != "ecps\n") continue;
    const std::string env = Slurp(e.path() / "environ");
    bool job_ok = false, task_ok = false, conf_ok = false;
    std::size_t at = 0;
    for (std::size_t end; (end = env.find('\0', at)) != std::string::npos; at = end + 1) {
      job_ok |= env.compare(at, end - at, want_job) == 0;
      task_ok |= env.compare(at, end - at, want_task) == 0;
      conf_ok |= env.compare(at, end - at, want_conf) == 0;
    }
    if (job_ok && task_ok && conf_ok) return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

// Stops the clusters (daemons and job steps) that tests killed by ctest's timeout left
// running, and removes their folders: their jobs would collide with this test's of the same
// ids. A folder ecps_slurm_<pid> whose process is gone belongs to such a test.
void StopClustersOfDeadTests() {
  static const std::regex kName("ecps_slurm_([0-9]+)");
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path())) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (!std::regex_match(name, m, kName)) continue;
    if (kill(static_cast<pid_t>(std::stol(m[1])), 0) == 0 || errno != ESRCH) continue;
    if (fs::exists(e.path() / "cluster")) {
      Sh(fmt::format("{}/launch/slurm/local-cluster.sh stop {}", ECPS_SOURCE_DIR,
                     (e.path() / "cluster").string()));
    }
    std::error_code ec;
    fs::remove_all(e.path(), ec);
  }
}

class SlurmCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0) << "the slurm test starts slurmctld, slurmd and munged and must run as root";
    for (const char* tool : {"slurmctld", "slurmd", "munged", "sbatch", "scontrol"}) {
      ASSERT_EQ(Sh(fmt::format("command -v {} || test -x /usr/sbin/{}", tool, tool)).rc, 0)
          << tool << " is not installed; run scripts/install-deps.sh";
    }
    StopClustersOfDeadTests();
    dir_ = fs::temp_directory_path() / fmt::format("ecps_slurm_{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto start = Sh(fmt::format("{}/launch/slurm/local-cluster.sh start {}/cluster 8", ECPS_SOURCE_DIR, dir_.string()));
    ASSERT_EQ(start.rc, 0) << start.out;
    started_ = true;
    conf_ = (dir_ / "cluster/slurm.conf").string();
    Progress("the local cluster is up");
  }
  void TearDown() override {
    if (started_) Sh(fmt::format("{}/launch/slurm/local-cluster.sh stop {}/cluster", ECPS_SOURCE_DIR, dir_.string()));
    if (!HasFailure()) {
      fs::remove_all(dir_);
      return;
    }
    // The next Slurm test removes this folder (StopClustersOfDeadTests): the daemons' logs
    // go to the test's output now.
    for (const char* log : {"slurmctld.log", "slurmd.log"}) {
      std::cerr << "---- last lines of " << log << ":\n"
                << Sh(fmt::format("tail -n 40 {}/cluster/log/{}", dir_.string(), log)).out;
    }
  }
  std::string Slurm(const std::string& cmd) const { return fmt::format("SLURM_CONF={} {}", conf_, cmd); }

  // `scontrol show job` of `job`.
  std::string JobInfo(const std::string& job) const {
    return Sh(Slurm("scontrol show job " + job)).out;
  }
  static std::string Field(const std::string& info, const std::string& key) {
    std::smatch m;
    return std::regex_search(info, m, std::regex(key + "=(\\S+)")) ? std::string(m[1]) : "";
  }
  // Polls `scontrol show job` until `done(info)` or `seconds` pass; returns the last info.
  template <class Done>
  std::string WaitForJob(const std::string& job, Done done, int seconds = 180) const {
    std::string info;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < until) {
      info = JobInfo(job);
      if (done(info)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return info;
  }
  static bool Ended(const std::string& info) {
    static const std::regex kFinal(
        "JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL)");
    return std::regex_search(info, kFinal);
  }
  // Submits launch/slurm/train.sbatch with the environment `env` (VAR=value ...); the job id.
  std::string Submit(const std::string& env) const {
    auto sub = Sh(Slurm(fmt::format(
        "ECPS={} ECPS_OUT_ROOT={}/runs {} sbatch --parsable --chdir={} --output={}/job-%j.out "
        "{}/launch/slurm/train.sbatch",
        ECPS_BINARY, dir_.string(), env, dir_.string(), dir_.string(), ECPS_SOURCE_DIR)));
    EXPECT_EQ(sub.rc, 0) << sub.out;
    return std::regex_replace(sub.out, std::regex("\\s+"), "");
  }
  // Waits until `job` runs ecps (its output's staging folder exists), then sends SIGUSR1 to
  // the batch shell, as Slurm's --signal=B:USR1@<seconds> does before the time limit.
  void SignalWhenRunning(const std::string& job) const {
    const fs::path staging = dir_ / "runs" / fmt::format(".{}.ecps-staging", job);
    for (int i = 0; i < 60000 && !fs::exists(staging); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(fs::exists(staging))
        << JobInfo(job) << Slurp(dir_ / fmt::format("job-{}.out", job));
    auto sig = Sh(Slurm("scancel --signal=USR1 --batch " + job));
    ASSERT_EQ(sig.rc, 0) << sig.out;
  }

  // Polls every 2 ms, for at most `seconds`, until `ready()` holds and task 2 of `job` runs
  // ecps; returns its pid, or -1 (with the job's state in `info`) when the time is up or the
  // job ended first.
  template <class Ready>
  pid_t FindTask2(const std::string& job, Ready ready, int seconds, std::string& info) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    auto checked = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < until) {
      if (ready()) {
        if (const pid_t pid = TaskPid(conf_, job, 2); pid > 0) return pid;
      }
      if (std::chrono::steady_clock::now() - checked > std::chrono::milliseconds(200)) {
        checked = std::chrono::steady_clock::now();
        info = JobInfo(job);
        if (Ended(info)) return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return -1;
  }
  // After task 2 of `job` was killed: the job fails within `seconds` with exit code 4, srun's
  // and the template's messages, and no published outputs. A job still running then is
  // cancelled (so that the test ends within ctest's timeout, with the job's log).
  void ExpectKilledTaskReported(const std::string& job, int seconds) const {
    const std::string info = WaitForJob(job, Ended, seconds);
    const std::string log = Slurp(dir_ / fmt::format("job-{}.out", job));
    if (!Ended(info)) Sh(Slurm("scancel " + job));
    ASSERT_TRUE(Ended(info)) << "job " << job << " still runs " << seconds
                             << " s after its task 2 was killed:\n" << info << log;
    EXPECT_EQ(Field(info, "JobState"), "FAILED") << info << log;
    EXPECT_EQ(Field(info, "ExitCode"), "4:0") << info << log;
    EXPECT_NE(log.find("task 2: Killed"), std::string::npos) << log;
    EXPECT_NE(log.find("error: a task ended by signal 9"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(dir_ / "runs" / job)) << "a failed job published its outputs";
  }
  // A line on stderr (unbuffered, so that a test killed by ctest's timeout shows how far it got).
  static void Progress(const std::string& what) {
    std::fprintf(stderr, "[slurm test] %s\n", what.c_str());
  }

  fs::path dir_;
  std::string conf_;
  bool started_ = false;
};

TEST_F(SlurmCluster, SbatchTrainingJobCompletesWithOutputsUnderItsJobId) {
  // Training data: the synthetic shop's users.
  auto gen = Sh(fmt::format("{} generate --out {}/data --users 3000 --items 200 --seed 5", ECPS_BINARY, dir_.string()));
  ASSERT_EQ(gen.rc, 0) << gen.out;
  const std::string args = fmt::format(
      "train kmeans --data {}/data/users.csv --id-column user_id "
      "--features age,purchase_frequency,rating,duration,avg_order_value --k 4 --seed 1",
      dir_.string());
  auto sub = Sh(Slurm(fmt::format(
      "ECPS={} ECPS_ARGS='{}' ECPS_OUT_ROOT={}/runs sbatch --parsable --chdir={} --output={}/job-%j.out {}/launch/slurm/train.sbatch",
      ECPS_BINARY, args, dir_.string(), dir_.string(), dir_.string(), ECPS_SOURCE_DIR)));
  ASSERT_EQ(sub.rc, 0) << sub.out;
  const std::string job = std::regex_replace(sub.out, std::regex("\\s+"), "");
  ASSERT_FALSE(job.empty());

  // Poll scontrol until the job reaches a final state.
  std::string state, info;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < until) {
    info = Sh(Slurm("scontrol show job " + job)).out;
    std::smatch m;
    if (std::regex_search(info, m, std::regex("JobState=(\\w+)"))) state = m[1];
    if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
        state == "NODE_FAIL" || state == "OUT_OF_MEMORY" || state == "BOOT_FAIL") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const std::string log = Slurp(dir_ / fmt::format("job-{}.out", job));
  ASSERT_EQ(state, "COMPLETED") << info << "\njob output:\n" << log;
  EXPECT_NE(info.find("ExitCode=0:0"), std::string::npos) << info;
  EXPECT_NE(log.find("4 tasks"), std::string::npos) << log;

  // Outputs under the job id, written by task 0.
  const fs::path out = dir_ / "runs" / job;
  ASSERT_TRUE(fs::exists(out / "metrics.json")) << log;
  auto metrics = nlohmann::json::parse(Slurp(out / "metrics.json"));
  ASSERT_TRUE(metrics.contains("inertia")) << metrics.dump();
  EXPECT_GT(metrics["inertia"].get<double>(), 0.0);
  std::ifstream assignments(out / "assignments.csv");
  std::size_t rows = 0;
  for (std::string line; std::getline(assignments, line);) ++rows;
  EXPECT_EQ(rows, 3001u) << "header + one row per user";
  // Roles came from the rank: 1 scheduler, 1 server, 2 workers.
  EXPECT_NE(log.find("r0 scheduler"), std::string::npos) << log;
}

// Users with 3 features uniform in [0, 1) from a fixed seed: k-means takes many slow-converging
// iterations on them (as in tests/kmeans/checkpoint_testing.h).
void WriteUniformUsers(const fs::path& path, std::size_t n) {
  std::mt19937_64 rng(20261206);
  std::uniform_real_distribution<double> u(0, 1);
  std::ofstream out(path);
  out << "user,a,b,c\n";
  char buf[96];
  for (std::size_t i = 0; i < n; ++i) {
    const double a = u(rng), b = u(rng), c = u(rng);
    std::snprintf(buf, sizeof buf, "u%zu,%.4f,%.4f,%.4f\n", i, a, b, c);
    out << buf;
  }
}

class SlurmCheckpoints : public SlurmCluster {
 protected:
  void SetUp() override {
    SlurmCluster::SetUp();
    if (HasFatalFailure()) return;
    WriteUniformUsers(dir_ / "users.csv", kUsers);
    args_ = fmt::format(
        "train kmeans --data {}/users.csv --id-column user --features a,b,c --k 200 --seed 7 "
        "--tol 0 --max-iter 1000 --threads 1",
        dir_.string());
    // The uninterrupted model, single-node (k-means gives the same bytes for any worker count).
    auto full = Sh(fmt::format("{} {} --local --workers 2 --quiet --out {}/full", ECPS_BINARY,
                               args_, dir_.string()));
    ASSERT_EQ(full.rc, 0) << full.out;
    Progress("the uninterrupted model is trained");
  }
  void ExpectTheUninterruptedModel(const fs::path& out) const {
    for (const char* f : {"model.bin", "assignments.csv", "profiles.csv", "profiles.json"}) {
      const std::string expected = Slurp(dir_ / "full" / f);
      EXPECT_FALSE(expected.empty()) << f;
      EXPECT_TRUE(expected == Slurp(out / f)) << f << " differs from the uninterrupted run's";
    }
  }
  // About 600 iterations and 10 s of training on a quiet 2-core machine: the job is still
  // running when a signal sent on its start arrives (with 200,000 users and k = 40 it ended
  // within a second, before scancel's signal reached it).
  static constexpr std::size_t kUsers = 1000000;
  std::string args_;
};

TEST_F(SlurmCheckpoints, Sigusr1CheckpointsStopsWith75RequeuesAndResumesToTheSameModel) {
  const std::string job = Submit(fmt::format("ECPS_ARGS='{}'", args_));
  ASSERT_FALSE(job.empty());
  SignalWhenRunning(job);
  // The job requeues itself; Slurm holds a requeued job back for two minutes: start it now.
  std::string info = WaitForJob(job, [](const std::string& i) {
    return Field(i, "Restarts") == "1" && Field(i, "JobState") == "PENDING";
  });
  const fs::path log_path = dir_ / fmt::format("job-{}.out", job);
  ASSERT_EQ(Field(info, "Restarts"), "1") << info << Slurp(log_path);
  // The first start's step may still be ending on the node: start the job again once the
  // node is idle (bounded; the job's own wait would be two minutes).
  for (int i = 0; i < 300 && Sh(Slurm("sinfo -h -o %T")).out.find("idle") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // slurmd revoked the first start's credential when it ended, and takes a new credential for
  // a requeued job only when it was issued after the revocation, in whole seconds: a start
  // within the same second fails at once ("Killing non-startable batch JobId=1: Job credential
  // revoked" in slurmctld.log, exit code 1). Slurm's own two-minute hold avoids that; here two
  // seconds do.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(Sh(Slurm(fmt::format("scontrol update jobid={} starttime=now", job))).rc, 0);
  info = WaitForJob(job, Ended);
  const std::string log = Slurp(log_path);
  ASSERT_EQ(Field(info, "JobState"), "COMPLETED") << info << "\njob output:\n" << log;
  // The first start: the signal reached every task, which stopped after a checkpoint.
  const fs::path ckpt = dir_ / "runs" / (job + ".checkpoints");
  EXPECT_NE(log.find("SIGUSR1: asking ecps for a checkpoint and a stop"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped after writing checkpoint " + ckpt.string() + "/clock-"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("requeued; it resumes from"), std::string::npos) << log;
  // The second start resumed and finished with the uninterrupted run's model.
  EXPECT_NE(log.find("start 2 (requeued): resuming from " + ckpt.string()), std::string::npos)
      << log;
  const fs::path out = dir_ / "runs" / job;
  ExpectTheUninterruptedModel(out);
  auto metrics = nlohmann::json::parse(Slurp(out / "metrics.json"));
  const std::string from = metrics["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind(ckpt.string() + "/clock-", 0), 0u) << from;
}

TEST_F(SlurmCheckpoints, AChainOfJobsResumesWithEcpsResume) {
  // Job 1 stops for a checkpoint and does not requeue (a cluster without requeue): it fails
  // with exit code 75, and job 2 of the chain continues from the shared checkpoint folder.
  const std::string ckpt = (dir_ / "chain-ckpt").string();
  const std::string first =
      Submit(fmt::format("ECPS_ARGS='{}' ECPS_CHECKPOINTS={} ECPS_REQUEUE=0", args_, ckpt));
  ASSERT_FALSE(first.empty());
  SignalWhenRunning(first);
  std::string info = WaitForJob(first, Ended);
  ASSERT_EQ(Field(info, "JobState"), "FAILED") << info << Slurp(dir_ / ("job-" + first + ".out"));
  EXPECT_EQ(Field(info, "ExitCode"), "75:0") << info;
  EXPECT_FALSE(fs::exists(dir_ / "runs" / first)) << "a stopped job published its outputs";

  const std::string second =
      Submit(fmt::format("ECPS_ARGS='{}' ECPS_CHECKPOINTS={} ECPS_RESUME=1", args_, ckpt));
  info = WaitForJob(second, Ended);
  const std::string log = Slurp(dir_ / ("job-" + second + ".out"));
  ASSERT_EQ(Field(info, "JobState"), "COMPLETED") << info << log;
  ExpectTheUninterruptedModel(dir_ / "runs" / second);
  auto metrics = nlohmann::json::parse(Slurp(dir_ / "runs" / second / "metrics.json"));
  const std::string from = metrics["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind(ckpt + "/clock-", 0), 0u) << from;
}

// A task killed with SIGKILL while it trains: Slurm's PMIx plugin ends the whole step at once;
// the template turns that into exit code 4 with a message, and nothing is published.
TEST_F(SlurmCheckpoints, AKilledTaskEndsTheJobWithExitCode4AndAMessage) {
  const std::string job = Submit(fmt::format("ECPS_ARGS='{}'", args_));
  ASSERT_FALSE(job.empty());
  Progress(fmt::format("job {} submitted", job));
  const fs::path log_path = dir_ / fmt::format("job-{}.out", job);
  // Training has begun on every task once the scheduler logs the initial centroids (about
  // 600 iterations follow).
  std::string info;
  const pid_t pid = FindTask2(
      job, [&] { return Slurp(log_path).find("initial centroids") != std::string::npos; }, 120,
      info);
  ASSERT_GT(pid, 0) << "job " << job << " did not reach its training with task 2 running within "
                    << "120 s; job: " << info << Slurp(log_path);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  Progress(fmt::format("task 2 (pid {}) killed", pid));
  ExpectKilledTaskReported(job, 120);
}

// A task killed before it joined MPI's start-up: no PMIx event reports it, and the other
// tasks would wait in MPI_Init until the time limit; the start-up watchdog
// (ECPS_STARTUP_TIMEOUT, here 15 s) ends them with exit code 4 instead.
TEST_F(SlurmCluster, ATaskKilledWhileStartingEndsTheJobWithExitCode4) {
  WriteUniformUsers(dir_ / "users.csv", 1000);
  const std::string job = Submit(fmt::format(
      "ECPS_STARTUP_TIMEOUT=15 ECPS_ARGS='train kmeans --data {}/users.csv --id-column user "
      "--features a,b,c --k 4 --seed 7'",
      dir_.string()));
  ASSERT_FALSE(job.empty());
  Progress(fmt::format("job {} submitted", job));
  std::string info;
  const pid_t pid = FindTask2(job, [] { return true; }, 120, info);
  ASSERT_GT(pid, 0) << "task 2 of job " << job << " not found within 120 s; job: " << info;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  Progress(fmt::format("task 2 (pid {}) killed at its start", pid));
  ExpectKilledTaskReported(job, 120);
  // Which way the job ended depends on how far task 2 had got: the watchdog's message when it
  // had not joined MPI yet, Slurm ending the step when it had.
  const std::string log = Slurp(dir_ / fmt::format("job-{}.out", job));
  Progress(log.find("did not all start within 15 s") != std::string::npos
               ? "ended by the start-up watchdog"
               : "ended by Slurm (task 2 had joined MPI)");
}

}  // namespace
