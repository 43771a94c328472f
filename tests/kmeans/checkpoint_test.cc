// train kmeans --checkpoint-dir / --resume through the real binary, single-node mode: a run
// killed by SIGKILL right after a checkpoint and resumed gives the uninterrupted run's bytes
// (also with another worker count); damaged checkpoints are skipped; a checkpoint of other
// options or data is refused.
#include <gtest/gtest.h>

#include "tests/common/run_ecps.h"
#include "tests/kmeans/checkpoint_testing.h"

namespace ecps {
namespace {

namespace fs = std::filesystem;
using testing::RunEcps;

TEST(KMeansCheckpoint, KilledThenResumedWithOtherWorkersAndServersGivesTheSameBytes) {
  kmtest::TempDir dir("ckpt-kill");
  kmtest::WriteUniformUsers(dir / "users.csv", 100000);
  const std::string train = kmtest::UniformTrain(dir / "users.csv");
  const auto full = RunEcps(train + " --local --workers 2 --out " + (dir / "full"));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir / "ckpt", out = dir / "out";
  testing::Background run(
      fmt::format("{} {} --local --workers 2 --out {} --checkpoint-dir {} --checkpoint-every 2",
                  ECPS_BINARY, train, out, ckpt),
      dir / "killed.log");
  ASSERT_TRUE(kmtest::KillAtCheckpoint(run, ckpt, 10, run.pid())) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_EQ(ended.signal, SIGKILL) << ended.Describe();
  ASSERT_FALSE(fs::exists(out)) << "a killed run published its outputs";

  // Same --out, the folder from --checkpoint-dir, three workers and two servers instead of
  // two and one.
  const auto resumed =
      RunEcps(fmt::format("{} --local --workers 3 --servers 2 --out {} --checkpoint-dir {} "
                          "--checkpoint-every 5 --resume",
                          train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  kmtest::ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(kmtest::ReadFile(out + "/metrics.json"));
  EXPECT_GT(m["iterations"].get<int>(), 20) << "the kill should land mid-run";
  const std::string from = m["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind(ckpt + "/clock-", 0), 0u) << from;
}

TEST(KMeansCheckpoint, EveryAsATimeWritesCheckpointsThatResumeToTheSameBytes) {
  kmtest::TempDir dir("ckpt-time");
  kmtest::WriteUniformUsers(dir / "users.csv", 100000);
  const std::string train = kmtest::UniformTrain(dir / "users.csv");
  const std::string ckpt = dir / "ckpt";
  const auto full = RunEcps(fmt::format(
      "{} --local --out {} --checkpoint-dir {} --checkpoint-every 0.005s --checkpoint-keep 1000",
      train, dir / "full", ckpt));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto m = nlohmann::json::parse(kmtest::ReadFile(dir / "full/metrics.json"));
  // ~180 iterations take 0.1 s or more (0.6 ms each on the development machine).
  EXPECT_GE(m["checkpoints"]["written"].get<int>(), 2) << m["timings"];
  const auto names = testing::Names(ckpt);
  EXPECT_EQ(static_cast<int>(names.size()), m["checkpoints"]["written"].get<int>());
  ASSERT_FALSE(names.empty());
  // Resume from the oldest one.
  fs::create_directories(dir / "one");
  fs::rename(ckpt + "/" + *names.begin(), dir / ("one/" + *names.begin()));
  const auto r = RunEcps(
      fmt::format("{} --local --workers 1 --out {} --resume {}", train, dir / "res", dir / "one"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  kmtest::ExpectSameModel(dir / "full", dir / "res");
  const auto bad = RunEcps(fmt::format(
      "{} --local --out {} --checkpoint-dir {} --checkpoint-every 5x", train, dir / "bad", ckpt));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--checkpoint-every: \"5x\" is neither"), std::string::npos) << bad.err;
}

TEST(KMeansCheckpoint, TwoRunsCannotWriteOneCheckpointFolder) {
  kmtest::TempDir dir("ckpt-lock");
  kmtest::WriteUniformUsers(dir / "users.csv", 100000);
  const std::string train = kmtest::UniformTrain(dir / "users.csv");
  const std::string ckpt = dir / "ckpt";
  testing::Background first(
      fmt::format("{} {} --local --out {} --checkpoint-dir {} --checkpoint-every 1", ECPS_BINARY,
                  train, dir / "a", ckpt),
      dir / "first.log");
  const auto manifest = ckpt + "/clock-4/MANIFEST";
  for (int i = 0; i < 60000 && !fs::exists(manifest); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(fs::exists(manifest)) << first.log();
  const auto second =
      RunEcps(fmt::format("{} --local --out {} --checkpoint-dir {}", train, dir / "b", ckpt));
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_NE(second.err.find("is in use by another ecps run"), std::string::npos) << second.err;
  EXPECT_EQ(first.Wait(120).code, 0) << first.log();
}

class KMeansCheckpointRefusals : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto p = kmtest::MakePlanted(3000, 4, 6, 12.0, 31);
    kmtest::WritePlanted(dir_ / "users.csv", p);
    train_ = fmt::format(
        "train kmeans --data {} --id-column user --features f0,f1,f2,f3 --k 6 --seed 3 --tol 0 "
        "--threads 1 --quiet --local --workers 2",
        dir_ / "users.csv");
    const auto full = RunEcps(train_ + " --out " + (dir_ / "full"));
    ASSERT_EQ(full.exit_code, 0) << full.err;
    const auto ck = RunEcps(train_ + " --out " + (dir_ / "ck") + " --checkpoint-dir " + ckpt_ +
                            " --checkpoint-every 1 --checkpoint-keep 3");
    ASSERT_EQ(ck.exit_code, 0) << ck.err;
    kmtest::ExpectSameModel(dir_ / "full", dir_ / "ck");  // checkpoints change nothing
    iterations_ = nlohmann::json::parse(kmtest::ReadFile(dir_ / "full/metrics.json"))["iterations"];
    ASSERT_GE(iterations_, 4) << "the test needs a few checkpoints";
  }
  // The checkpoint folders left (the newest 3 of iterations 1..iterations-1).
  std::string Folder(int back) const {
    return fmt::format("{}/clock-{}", ckpt_, iterations_ - 1 - back);
  }

  kmtest::TempDir dir_{"ckpt-refuse"};
  std::string ckpt_ = dir_ / "ckpt";
  std::string train_;
  int iterations_ = 0;
};

TEST_F(KMeansCheckpointRefusals, OnlyTheNewestKeepCheckpointsRemain) {
  EXPECT_TRUE(fs::exists(Folder(0) + "/MANIFEST"));
  EXPECT_TRUE(fs::exists(Folder(2) + "/MANIFEST"));
  EXPECT_FALSE(fs::exists(Folder(3)));
  EXPECT_EQ(testing::Names(ckpt_).size(), 3u);
}

TEST_F(KMeansCheckpointRefusals, DamagedNewestCheckpointFallsBackToThePreviousOne) {
  {
    std::fstream f(Folder(0) + "/worker-0.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    f.put('\x55');
  }
  fs::remove(Folder(1) + "/MANIFEST");
  const auto r = RunEcps(train_ + " --out " + (dir_ / "res") + " --resume " + ckpt_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("does not match its checksum; trying an older one"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("no manifest (incomplete)"), std::string::npos) << r.err;
  const auto m = nlohmann::json::parse(kmtest::ReadFile(dir_ / "res/metrics.json"));
  EXPECT_EQ(m["checkpoints"]["resumed_from"], Folder(2));
  kmtest::ExpectSameModel(dir_ / "full", dir_ / "res");
}

TEST_F(KMeansCheckpointRefusals, ResumeFromAConfigFileAsASwitchOrWithAFolder) {
  for (const std::string& line :
       {std::string("resume = true"), fmt::format("resume = \"{}\"", ckpt_)}) {
    kmtest::WriteFile(dir_ / "job.toml", fmt::format("checkpoint-dir = \"{}\"\n{}\n", ckpt_, line));
    fs::remove_all(dir_ / "res");
    const auto r =
        RunEcps(train_ + " --out " + (dir_ / "res") + " --config " + (dir_ / "job.toml"));
    ASSERT_EQ(r.exit_code, 0) << line << "\n" << r.err;
    const auto m = nlohmann::json::parse(kmtest::ReadFile(dir_ / "res/metrics.json"));
    EXPECT_EQ(m["checkpoints"]["resumed_from"], Folder(0)) << line;
    kmtest::ExpectSameModel(dir_ / "full", dir_ / "res");
  }
}

TEST_F(KMeansCheckpointRefusals, OtherOptionsOrDataAreRefusedNamingTheDifference) {
  auto r = RunEcps(fmt::format("{} --k 5 --out {} --resume {}", train_, dir_ / "r1", ckpt_));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("was made with --k 6; this run has --k 5"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --seed 4 --out {} --resume {}", train_, dir_ / "r2", ckpt_));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--seed 3; this run has --seed 4"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "r1"));

  // The same path with one row changed: the column statistics differ.
  std::string data = kmtest::ReadFile(dir_ / "users.csv");
  const auto row = data.find('\n', data.size() / 2) + 1;
  const auto field = data.find(',', row) + 1;
  data.replace(field, data.find(',', field) - field, "999");
  kmtest::WriteFile(dir_ / "users.csv", data);
  r = RunEcps(fmt::format("{} --out {} --resume {}", train_, dir_ / "r3", ckpt_));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("differ from the checkpoint's run"), std::string::npos) << r.err;

  r = RunEcps(fmt::format("{} --out {} --resume {}", train_, dir_ / "r4", dir_ / "nothing"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no such folder"), std::string::npos) << r.err;
}

TEST_F(KMeansCheckpointRefusals, BadCheckpointOptionsAreUsageErrors) {
  auto r =
      RunEcps(fmt::format("{} --out {} --checkpoint-dir {}/ck", train_, dir_ / "o", dir_ / "o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("lies inside --out"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --out {} --checkpoint-dir {} --checkpoint-every 0", train_,
                          dir_ / "o", ckpt_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--checkpoint-every"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --out {} --resume", train_, dir_ / "o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--resume needs a folder"), std::string::npos) << r.err;
  r =
      RunEcps(fmt::format("train kmeans --data {} --id-column user --features f0,f1,f2,f3 --k 6 "
                          "--local --out {} --checkpoint-dir {} --dp-epsilon 4 --dp-bounds "
                          "f0=0:100,f1=0:100,f2=0:100,f3=0:100",
                          dir_ / "users.csv", dir_ / "o", dir_ / "ck2"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not implemented yet for private runs"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecps
