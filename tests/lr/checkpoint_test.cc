// train lr --checkpoint-dir / --resume through the real binary, single-node mode: a run killed
// by SIGKILL right after a checkpoint and resumed (with more servers) gives the uninterrupted
// run's bytes, for FTRL, AdaGrad and SGD with a decaying step; time-based checkpoints resume to
// the same bytes; damaged checkpoints are skipped; other options, worker counts, data and
// DP-SGD are refused naming why.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/common/run_ecps.h"
#include "tests/lr/checkpoint_testing.h"

namespace ecps {
namespace {

namespace fs = std::filesystem;
using testing::RunEcps;

class LrCheckpointKill : public ::testing::TestWithParam<const char*> {};

TEST_P(LrCheckpointKill, KilledThenResumedWithMoreServersGivesTheSameBytes) {
  testing::TempDir dir("ckpt-kill");
  lrtest::WriteCtr(dir);
  const std::string train = lrtest::Train(dir, GetParam());
  const auto full = RunEcps(train + " --local --workers 2 --out " + (dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  testing::Background run(
      fmt::format("{} {} --local --workers 2 --out {} --checkpoint-dir {} --checkpoint-every 2",
                  ECPS_BINARY, train, out, ckpt),
      dir / "killed.log");
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 20, run.pid())) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_EQ(ended.signal, SIGKILL) << ended.Describe();
  ASSERT_FALSE(fs::exists(out)) << "a killed run published its outputs";

  // Same --out and folder, three servers instead of one.
  const auto resumed = RunEcps(fmt::format(
      "{} --local --workers 2 --servers 3 --out {} --checkpoint-dir {} --resume", train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  lrtest::ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
  const std::string from = m["checkpoints"]["resumed_from"];
  ASSERT_EQ(from.rfind(ckpt + "/clock-", 0), 0u) << from;
  EXPECT_LT(std::stoi(from.substr(ckpt.size() + 7)), 150) << "the kill should land mid-run";
}

INSTANTIATE_TEST_SUITE_P(Rules, LrCheckpointKill,
                         ::testing::Values("", "--algorithm adagrad",
                                           "--algorithm sgd --lr-decay 0.05 --l2 0.001"),
                         [](const auto& rule) {
                           return std::string(rule.index == 0 ? "Ftrl" : rule.index == 1 ? "AdaGrad" : "SgdDecay");
                         });

// SIGUSR1 (Slurm's warning before a time limit) once checkpoint 20 exists: the run writes a
// checkpoint at its next clock, publishes nothing and exits 75; resumed, the same bytes.
TEST(LrCheckpoint, Sigusr1WritesACheckpointExits75AndTheResumeGivesTheSameBytes) {
  testing::TempDir dir("ckpt-usr1");
  lrtest::WriteCtr(dir);
  const std::string train = lrtest::Train(dir);
  const auto full = RunEcps(train + " --local --workers 2 --out " + (dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  testing::Background run(
      fmt::format("{} {} --local --workers 2 --out {} --checkpoint-dir {} --checkpoint-every 2",
                  ECPS_BINARY, train, out, ckpt),
      dir / "stopped.log");
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 20, run.pid(), SIGUSR1)) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_TRUE(ended.exited && ended.code == 75) << ended.Describe() << "\n" << run.log();
  EXPECT_NE(run.log().find("stopped after writing checkpoint " + ckpt + "/clock-"),
            std::string::npos)
      << run.log();
  ASSERT_FALSE(fs::exists(out)) << "a stopped run published its outputs";

  const auto resumed = RunEcps(fmt::format(
      "{} --local --workers 2 --out {} --checkpoint-dir {} --resume", train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  lrtest::ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
  const std::string from = m["checkpoints"]["resumed_from"];
  EXPECT_GT(std::stoi(from.substr(ckpt.size() + 7)), 20) << from;
}

TEST(LrCheckpoint, EveryAsATimeWritesCheckpointsThatResumeToTheSameBytes) {
  testing::TempDir dir("ckpt-time");
  lrtest::WriteCtr(dir);
  const std::string train = lrtest::Train(dir);
  const std::string ckpt = dir / "ckpt";
  const auto full = RunEcps(fmt::format(
      "{} --local --out {} --checkpoint-dir {} --checkpoint-every 0.002s --checkpoint-keep 1000",
      train, dir / "full", ckpt));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto m = nlohmann::json::parse(testing::ReadText(dir / "full/metrics.json"));
  // 200 clocks take 0.02 s or more.
  const int written = m["checkpoints"]["written"].get<int>();
  EXPECT_GE(written, 2) << m["checkpoints"];
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(ckpt)) names.insert(e.path().filename().string());
  EXPECT_EQ(static_cast<int>(names.size()), written);
  ASSERT_FALSE(names.empty());
  // Resume from one of them alone.
  fs::create_directories(dir / "one");
  fs::rename(ckpt + "/" + *names.begin(), dir / ("one/" + *names.begin()));
  const auto r = RunEcps(fmt::format("{} --local --out {} --resume {}", train, dir / "res", dir / "one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lrtest::ExpectSameModel(dir / "full", dir / "res");
}

class LrCheckpointRefusals : public ::testing::Test {
 protected:
  void SetUp() override {
    lrtest::WriteCtr(dir_);
    train_ = lrtest::Train(dir_, "--local --workers 2");
    const auto full = RunEcps(train_ + " --out " + (dir_ / "full"));
    ASSERT_EQ(full.exit_code, 0) << full.err;
    const auto ck = RunEcps(train_ + " --out " + (dir_ / "ck") + " --checkpoint-dir " + ckpt_ +
                            " --checkpoint-every 50 --checkpoint-keep 3");
    ASSERT_EQ(ck.exit_code, 0) << ck.err;
    lrtest::ExpectSameModel(dir_ / "full", dir_ / "ck");  // checkpoints change nothing
  }
  std::string Folder(int clock) const { return fmt::format("{}/clock-{}", ckpt_, clock); }

  testing::TempDir dir_{"ckpt-refuse"};
  std::string ckpt_ = dir_ / "ckpt";
  std::string train_;
};

TEST_F(LrCheckpointRefusals, DamagedNewestCheckpointsFallBackToAnOlderOne) {
  // Clocks 50, 100 and 150 (not 200: the run ends there).
  ASSERT_TRUE(fs::exists(Folder(150) + "/MANIFEST"));
  ASSERT_FALSE(fs::exists(Folder(200)));
  {
    std::fstream f(Folder(150) + "/server-0.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x55');
  }
  fs::remove(Folder(100) + "/MANIFEST");
  const auto r = RunEcps(train_ + " --out " + (dir_ / "res") + " --resume " + ckpt_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("does not match its checksum; trying an older one"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no manifest (incomplete)"), std::string::npos) << r.err;
  const auto m = nlohmann::json::parse(testing::ReadText(dir_ / "res/metrics.json"));
  EXPECT_EQ(m["checkpoints"]["resumed_from"], Folder(50));
  lrtest::ExpectSameModel(dir_ / "full", dir_ / "res");
}

TEST_F(LrCheckpointRefusals, OtherOptionsWorkersDataOrDpAreRefusedNamingWhy) {
  auto r = RunEcps(fmt::format("{} --l1 2 --out {} --resume {}", train_, dir_ / "r1", ckpt_));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("was made with --l1 1.0; this run has --l1 2.0"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --workers 3 --out {} --resume {}", train_, dir_ / "r2", ckpt_));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("was made with 2 workers; this run has 3"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --consistency ssp --staleness 2 --out {} --resume {}", train_, dir_ / "r3", ckpt_));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--consistency"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --dp-epsilon 1 --out {} --checkpoint-dir {}", train_, dir_ / "r4", dir_ / "dp"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot be used with --dp-*"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "r1"));

  // The same path with fewer rows: the data changed.
  std::string data = testing::ReadText(dir_ / "train.svm");
  data.resize(data.rfind('\n', data.size() / 2) + 1);
  testing::WriteText(dir_ / "train.svm", data);
  r = RunEcps(fmt::format("{} --out {} --resume {}", train_, dir_ / "r5", ckpt_));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("(the data files changed)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecps
