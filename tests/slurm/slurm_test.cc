// A training job submitted with sbatch to a real single-node Slurm cluster started for the
// test (launch/slurm/local-cluster.sh), using the template users copy
// (launch/slurm/train.sbatch): 4 tasks under srun --mpi=pmix, roles from the rank.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

class SlurmCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0) << "the slurm test starts slurmctld, slurmd and munged and must run as root";
    for (const char* tool : {"slurmctld", "slurmd", "munged", "sbatch", "scontrol"}) {
      ASSERT_EQ(Sh(fmt::format("command -v {} || test -x /usr/sbin/{}", tool, tool)).rc, 0)
          << tool << " is not installed; run scripts/install-deps.sh";
    }
    dir_ = fs::temp_directory_path() / fmt::format("ecps_slurm_{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto start = Sh(fmt::format("{}/launch/slurm/local-cluster.sh start {}/cluster 8", ECPS_SOURCE_DIR, dir_.string()));
    ASSERT_EQ(start.rc, 0) << start.out;
    started_ = true;
    conf_ = (dir_ / "cluster/slurm.conf").string();
  }
  void TearDown() override {
    if (started_) Sh(fmt::format("{}/launch/slurm/local-cluster.sh stop {}/cluster", ECPS_SOURCE_DIR, dir_.string()));
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string Slurm(const std::string& cmd) const { return fmt::format("SLURM_CONF={} {}", conf_, cmd); }

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

}  // namespace
