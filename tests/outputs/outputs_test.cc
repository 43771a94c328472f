// SIGINT and SIGTERM during a training, two runs on one --out, and a write that fails
// (single-node mode, the real ecps binary, real signals):
//   - an interrupted training exits 130 (SIGINT) or 143 (SIGTERM) and leaves no --out (an
//     --out that existed is left as it was), nor anything beside it;
//   - a second run on an --out that a run is using is refused (exit 2) naming that run's pid;
//   - `ecps generate` whose writes fail (a file-size limit: writes fail with EFBIG, as on a
//     full disk with ENOSPC) exits 3 and leaves no folder.
#include <signal.h>

#include <cstdio>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/background.h"

namespace ecps::testing {
namespace {

struct Finished {
  int rc = -1;
  std::string out;
};

// Runs `command` through sh and waits for it; stdout and stderr together.
Finished RunToEnd(const std::string& command) {
  Finished r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class Outputs : public ::testing::Test {
 protected:
  static fs::path Root() {
    return fs::temp_directory_path() / fmt::format("ecps_outputs_{}", getpid());
  }
  static fs::path Shop() { return Root() / "shop"; }

  static void SetUpTestSuite() {
    fs::remove_all(Root());
    fs::create_directories(Root());
    Finished g = RunToEnd(
        fmt::format("{} generate --out {} --users 2000 --seed 7", ECPS_BINARY, Shop().string()));
    ASSERT_EQ(g.rc, 0) << g.out;
  }
  static void TearDownTestSuite() { fs::remove_all(Root()); }

  static fs::path Dir(const std::string& name) { return FreshDir(Root(), name); }

  // A training that runs until it is stopped; its first epoch line means it is writing.
  static std::string Training(const fs::path& out, int epochs = 100000) {
    return fmt::format(
        "{} train lr --train {}/impressions.libsvm --format libsvm --epochs {} --local --out {}",
        ECPS_BINARY, Shop().string(), epochs, out.string());
  }
  static constexpr const char* kWriting = "lr: epoch 1/";
};

class Interrupt : public Outputs, public ::testing::WithParamInterface<int> {};

TEST_P(Interrupt, TrainingExitsWithTheSignalsCodeAndLeavesNoFolder) {
  const int sig = GetParam();
  const fs::path dir = Dir(fmt::format("fresh_{}", sig));
  Background run(Training(dir / "out"), dir / "log");
  ASSERT_TRUE(run.WaitForLog(kWriting, 180)) << run.log();
  ASSERT_EQ(kill(run.pid(), sig), 0);
  const Ended e = run.Wait(120);
  EXPECT_TRUE(e.exited && e.code == 128 + sig) << e.Describe() << "\n" << run.log();
  EXPECT_NE(run.log().find(sig == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM"),
            std::string::npos)
      << run.log();
  EXPECT_EQ(Names(dir), std::set<std::string>{"log"}) << "the run left something behind";
}

TEST_P(Interrupt, AnExistingFolderStaysAsItWas) {
  const int sig = GetParam();
  const fs::path dir = Dir(fmt::format("existing_{}", sig));
  fs::create_directories(dir / "out");
  std::ofstream(dir / "out" / "metrics.json") << "{\"from\": \"an earlier run\"}\n";
  std::ofstream(dir / "out" / "notes.txt") << "the user's own file\n";
  const auto before = Contents(dir / "out");
  Background run(Training(dir / "out"), dir / "log");
  ASSERT_TRUE(run.WaitForLog(kWriting, 180)) << run.log();
  ASSERT_EQ(kill(run.pid(), sig), 0);
  const Ended e = run.Wait(120);
  EXPECT_TRUE(e.exited && e.code == 128 + sig) << e.Describe() << "\n" << run.log();
  EXPECT_EQ(Contents(dir / "out"), before);
  EXPECT_EQ(Names(dir), (std::set<std::string>{"log", "out"})) << "the run left something behind";
}

INSTANTIATE_TEST_SUITE_P(Signals, Interrupt, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& p) { return p.param == SIGINT ? "SIGINT" : "SIGTERM"; });

TEST_F(Outputs, ASecondRunOnTheSameFolderIsRefusedNamingTheFirst) {
  const fs::path dir = Dir("two_runs");
  Background first(Training(dir / "out"), dir / "first.log");
  ASSERT_TRUE(first.WaitForLog(kWriting, 180)) << first.log();

  const Finished second = RunToEnd(Training(dir / "out", 1));
  EXPECT_EQ(second.rc, 2) << second.out;
  EXPECT_NE(second.out.find("in use by another ecps run"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find(fmt::format("pid {}", first.pid())), std::string::npos) << second.out;

  ASSERT_EQ(kill(first.pid(), SIGTERM), 0);
  const Ended e = first.Wait(120);
  EXPECT_TRUE(e.exited && e.code == 143) << e.Describe() << "\n" << first.log();
  EXPECT_EQ(Names(dir), (std::set<std::string>{"first.log"}));

  // The folder is free again: a run now completes with whole, valid outputs.
  const Finished third = RunToEnd(Training(dir / "out", 2) + " -q");
  ASSERT_EQ(third.rc, 0) << third.out;
  EXPECT_TRUE(nlohmann::json::accept(Slurp(dir / "out" / "metrics.json")));
  std::istringstream lines(Slurp(dir / "out" / "metrics.jsonl"));
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(Names(dir), (std::set<std::string>{"first.log", "out"}));
}

TEST_F(Outputs, GenerateStopsOnSigtermAndLeavesNoFolder) {
  const fs::path dir = Dir("generate_interrupted");
  Background gen(fmt::format("{} generate --out {}/shop --users 100000", ECPS_BINARY, dir.string()),
                 dir / "log");
  // It has begun once something of it is in `dir` besides the log (its staging folder).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Names(dir).size() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(kill(gen.pid(), SIGTERM), 0);
  const Ended e = gen.Wait(120);
  EXPECT_TRUE(e.exited && e.code == 143) << e.Describe() << "\n" << gen.log();
  EXPECT_EQ(Names(dir), std::set<std::string>{"log"}) << "generate left something behind";
}

// A file-size limit makes every write past it fail (EFBIG; SIGXFSZ ignored), the same path
// as a full disk.
std::string WithWriteLimit(const std::string& command) {
  return fmt::format("ulimit -f 256 && trap '' XFSZ && {}", command);
}

TEST_F(Outputs, GenerateWhoseWritesFailLeavesNoFolder) {
  const fs::path dir = Dir("generate_fails");
  const Finished g = RunToEnd(WithWriteLimit(
      fmt::format("{} generate --out {}/shop --users 20000", ECPS_BINARY, dir.string())));
  EXPECT_EQ(g.rc, 3) << g.out;
  EXPECT_NE(g.out.find("write failed"), std::string::npos) << g.out;
  EXPECT_EQ(Names(dir), std::set<std::string>{}) << "generate left something behind";
}

TEST_F(Outputs, GenerateWhoseWritesFailLeavesAnExistingFolderAsItWas) {
  const fs::path dir = Dir("generate_fails_existing");
  fs::create_directories(dir / "shop");
  std::ofstream(dir / "shop" / "users.csv") << "user_id,age\nu1,30\n";
  const auto before = Contents(dir / "shop");
  const Finished g = RunToEnd(WithWriteLimit(
      fmt::format("{} generate --out {}/shop --users 20000", ECPS_BINARY, dir.string())));
  EXPECT_EQ(g.rc, 3) << g.out;
  EXPECT_EQ(Contents(dir / "shop"), before);
  EXPECT_EQ(Names(dir), std::set<std::string>{"shop"});
}

}  // namespace
}  // namespace ecps::testing
