// train itemcf|usercf --checkpoint-dir / --resume through the real binary, single-node mode:
// a run killed by SIGKILL right after a checkpoint and resumed (with another server count)
// gives the uninterrupted run's bytes; so do resumes from the checkpoint after ingest, one
// mid-similarity and the last; so do resumes with another number of workers; damaged
// checkpoints are skipped; a checkpoint of other options, data or kind is refused naming the
// difference.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "tests/cf/checkpoint_testing.h"
#include "tests/common/run_ecps.h"

namespace ecps {
namespace {

using testing::RunEcps;
using namespace testing_cf;

class CfCheckpointKill : public ::testing::TestWithParam<const char*> {};

TEST_P(CfCheckpointKill, KilledThenResumedWithOtherServersGivesTheSameBytes) {
  const std::string kind = GetParam();
  const std::string dir = TempDir("ckpt_kill_" + kind).string();
  const std::string train = CheckpointTrain(kind, WriteCheckpointData(dir));
  const auto full = RunEcps(fmt::format("{} --local --workers 2 --out {}/full", train, dir));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir + "/ckpt", out = dir + "/out";
  testing::Background run(CheckpointedRun(train, out, ckpt), dir + "/killed.log");
  ASSERT_TRUE(KillAtCheckpoint(run, ckpt, 56, run.pid())) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_EQ(ended.signal, SIGKILL) << ended.Describe();
  ASSERT_FALSE(fs::exists(out)) << "a killed run published its outputs";

  const auto resumed = RunEcps(fmt::format(
      "{} --local --workers 2 --servers 3 --out {} --checkpoint-dir {} --resume", train, out,
      ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ExpectSameModel(dir + "/full", out);
  const auto m = nlohmann::json::parse(Slurp(out + "/metrics.json"));
  const std::string from = m["checkpoints"]["resumed_from"];
  EXPECT_EQ(from.rfind(ckpt + "/clock-", 0), 0u) << from;
  EXPECT_GE(std::stoi(from.substr(from.rfind('-') + 1)), 56) << from;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CfCheckpointKill, ::testing::Values("itemcf", "usercf"));

// Killed with two workers right after a mid-similarity checkpoint, resumed with one and with
// three: the users are dealt anew, the remaining block tasks too.
class CfCheckpointWorkers : public ::testing::TestWithParam<const char*> {};

TEST_P(CfCheckpointWorkers, KilledWithTwoWorkersThenResumedWithOneOrThreeGivesTheSameBytes) {
  const std::string kind = GetParam();
  const std::string dir = TempDir("ckpt_workers_" + kind).string();
  const std::string train = CheckpointTrain(kind, WriteCheckpointData(dir));
  for (int workers : {1, 2, 3}) {
    const auto full = RunEcps(
        fmt::format("{} --local --workers {} --out {}/full{}", train, workers, dir, workers));
    ASSERT_EQ(full.exit_code, 0) << full.err;
  }
  const std::string ckpt = dir + "/ckpt";
  testing::Background run(CheckpointedRun(train, dir + "/killed", ckpt), dir + "/killed.log");
  ASSERT_TRUE(KillAtCheckpoint(run, ckpt, 56, run.pid())) << run.log();
  ASSERT_EQ(run.Wait(60).signal, SIGKILL);
  for (int workers : {1, 3}) {
    const std::string out = fmt::format("{}/w{}", dir, workers);
    const auto r = RunEcps(
        fmt::format("{} --local --workers {} --out {} --resume {}", train, workers, out, ckpt));
    ASSERT_EQ(r.exit_code, 0) << workers << "\n" << r.err;
    ExpectSameModelWithOtherWorkers(dir + "/full2", fmt::format("{}/full{}", dir, workers), out);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CfCheckpointWorkers, ::testing::Values("itemcf", "usercf"));

// The default --block-size depends on the workers (3 blocks for 2 workers, 4 for 4, 2 for 1):
// a run resumed mid-similarity with 4 workers keeps the checkpoint's 3 blocks; one resumed
// after ingest with 1 worker plans its own 2.
TEST(CfCheckpointWorkers, DefaultBlocksOfTheCheckpointAreKept) {
  const std::string dir = TempDir("ckpt_workers_blocks").string();
  const std::string train = fmt::format(
      "train itemcf --train {} --similarity cosine --neighbors 10 -n 5 --split leave-last-out "
      "--threads 1 --local",
      WriteCheckpointData(dir));
  for (int workers : {1, 2, 4}) {
    const auto full = RunEcps(
        fmt::format("{} --workers {} --out {}/full{} --quiet", train, workers, dir, workers));
    ASSERT_EQ(full.exit_code, 0) << full.err;
  }
  const auto ck = RunEcps(fmt::format(
      "{} --workers 2 --out {}/ck --checkpoint-dir {}/ckpt --checkpoint-every 1 "
      "--checkpoint-keep 100 --quiet",
      train, dir, dir));
  ASSERT_EQ(ck.exit_code, 0) << ck.err;
  ASSERT_EQ(testing::Names(dir + "/ckpt").size(), 7u);  // ingest and 6 tasks
  for (auto [clock, workers] : std::vector<std::pair<int, int>>{{3, 4}, {1, 1}}) {
    const std::string one = fmt::format("{}/only-{}", dir, clock);
    fs::create_directories(one);
    fs::copy(fmt::format("{}/ckpt/clock-{}", dir, clock), fmt::format("{}/clock-{}", one, clock));
    const std::string out = fmt::format("{}/res-{}", dir, clock);
    const auto r = RunEcps(fmt::format("{} --workers {} --out {} --resume {} --log-level debug",
                                       train, workers, out, one));
    ASSERT_EQ(r.exit_code, 0) << clock << "\n" << r.err;
    EXPECT_NE(r.err.find(fmt::format("clock-{} was made with 2 workers; its users are dealt "
                                     "anew to {}",
                                     clock, workers)),
              std::string::npos)
        << r.err;
    // Tasks computed (logged at debug): 4 of the checkpoint's 6 (3 blocks; 10 for 4 blocks)
    // after 2 merged, or the 3 of the run's own 2 blocks after ingest.
    std::size_t tasks = 0;
    for (auto at = r.err.find("debug: block ("); at != std::string::npos;
         at = r.err.find("debug: block (", at + 1)) {
      ++tasks;
    }
    EXPECT_EQ(tasks, clock == 3 ? 4u : 3u) << r.err;
    const std::string same = fmt::format("{}/full{}", dir, workers);
    for (const char* f : {"model.ecps", "neighbors.csv", "recommendations.csv", "metrics.jsonl"}) {
      EXPECT_TRUE(Slurp(fs::path(same) / f) == Slurp(fs::path(out) / f)) << f << " differs";
      EXPECT_TRUE(Slurp(dir + "/full2/" + f) == Slurp(fs::path(out) / f) ||
                  std::string(f) == "metrics.jsonl")
          << f << " differs";
    }
    // metrics.json: the blocks of the checkpoint (3, 6 tasks) for those of 4 workers.
    auto expected = ModelMetrics(same);
    if (clock == 3) expected["similarity"].update({{"blocks", 3}, {"tasks", 6}});
    EXPECT_EQ(expected, ModelMetrics(out));
  }
  fs::remove_all(dir);
}

// SIGUSR1 (Slurm's warning before a time limit) once checkpoint 6 exists: the run writes a
// checkpoint after the block task in progress, publishes nothing and exits 75; resumed, it
// gives the uninterrupted run's bytes.
TEST(CfCheckpointStop, Sigusr1WritesACheckpointExits75AndTheResumeGivesTheSameBytes) {
  const std::string dir = TempDir("ckpt_usr1").string();
  const std::string train = CheckpointTrain("itemcf", WriteCheckpointData(dir));
  const auto full = RunEcps(fmt::format("{} --local --workers 2 --out {}/full", train, dir));
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string ckpt = dir + "/ckpt", out = dir + "/out";
  testing::Background run(CheckpointedRun(train, out, ckpt), dir + "/stopped.log");
  ASSERT_TRUE(KillAtCheckpoint(run, ckpt, 6, run.pid(), SIGUSR1)) << run.log();
  const auto ended = run.Wait(60);
  ASSERT_TRUE(ended.exited && ended.code == 75) << ended.Describe() << "\n" << run.log();
  EXPECT_NE(run.log().find("ecps: rank 0 (scheduler): itemcf run: stopped after writing "
                           "checkpoint " + ckpt + "/clock-"),
            std::string::npos)
      << run.log();
  ASSERT_FALSE(fs::exists(out)) << "a stopped run published its outputs";
  const auto names = testing::Names(ckpt);
  ASSERT_FALSE(names.empty());
  int last = 0;
  for (const auto& name : names) last = std::max(last, std::stoi(name.substr(6)));
  EXPECT_GT(last, 6);
  EXPECT_LT(last, 211) << "stopped before the last block task";

  const auto resumed = RunEcps(fmt::format(
      "{} --local --workers 2 --out {} --checkpoint-dir {} --resume", train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ExpectSameModel(dir + "/full", out);
  fs::remove_all(dir);
}

// True when `ckpt` holds a checkpoint whose manifest is written (a valid one).
bool HasValidCheckpoint(const std::string& ckpt) {
  std::error_code ec;
  for (fs::directory_iterator it(ckpt, ec), end; !ec && it != end; it.increment(ec)) {
    if (fs::exists(it->path() / "MANIFEST")) return true;
  }
  return false;
}

// Kills at seeded random moments of a run (during ingest, a checkpoint's writing, the blocks
// or the recommendations, wherever they fall), each followed by the same command with
// --resume; when no checkpoint is valid yet that resume is refused and the run starts again.
// If neither of the first two kills landed after a checkpoint, the third waits for one.
TEST(CfCheckpointKillAnywhere, ResumedRunsGiveTheSameBytes) {
  const std::string dir = TempDir("ckpt_random").string();
  const std::string train = CheckpointTrain("itemcf", WriteCheckpointData(dir)) +
                            " --local --workers 2 --checkpoint-every 5 --checkpoint-dir " +
                            dir + "/ckpt";
  const auto started = std::chrono::steady_clock::now();
  const auto full = RunEcps(fmt::format("{} --out {}/full", train, dir));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::mt19937 rng(20261206);
  std::uniform_real_distribution<double> at(0.0, seconds);
  int resumed = 0;
  for (int round = 0; round < 3; ++round) {
    fs::remove_all(dir + "/ckpt");
    const std::string out = fmt::format("{}/out{}", dir, round);
    testing::Background run(fmt::format("{} {} --out {}", ECPS_BINARY, train, out),
                            dir + "/killed.log");
    if (round == 2 && resumed == 0) {
      // No kill has landed after a checkpoint yet (a loaded machine stretches the run's
      // phases): this one waits for the first valid checkpoint, then kills at once.
      for (int i = 0; i < 60000 && !HasValidCheckpoint(dir + "/ckpt"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(at(rng)));
    }
    kill(run.pid(), SIGKILL);
    const auto ended = run.Wait(60);
    if (ended.signal != SIGKILL) {  // it ended first
      ExpectSameModel(dir + "/full", out);
      continue;
    }
    auto r = RunEcps(fmt::format("{} --out {} --resume", train, out));
    const bool none = r.err.find("no valid checkpoint") != std::string::npos ||
                      r.err.find("no such folder") != std::string::npos;
    if (r.exit_code != 0 && none) {
      r = RunEcps(fmt::format("{} --out {}", train, out));
    }
    ASSERT_EQ(r.exit_code, 0) << round << "\n" << r.err;
    ExpectSameModel(dir + "/full", out);
    resumed += none ? 0 : 1;
  }
  EXPECT_GE(resumed, 1) << "no kill landed after a checkpoint";
  fs::remove_all(dir);
}

// One uninterrupted run that keeps every checkpoint; resumes from copies of some.
class CfCheckpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = CheckpointTrain("itemcf", WriteCheckpointData(dir_)) + " --local --workers 2";
    const auto full = RunEcps(fmt::format("{} --out {}/full", train_, dir_));
    ASSERT_EQ(full.exit_code, 0) << full.err;
    const auto ck = RunEcps(fmt::format(
        "{} --out {}/ck --checkpoint-dir {} --checkpoint-every 40 --checkpoint-keep 100", train_,
        dir_, ckpt_));
    ASSERT_EQ(ck.exit_code, 0) << ck.err;
    ExpectSameModel(dir_ + "/full", dir_ + "/ck");  // checkpoints change nothing
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A folder holding only checkpoint `clock`.
  std::string Only(int clock) const {
    const std::string one = fmt::format("{}/only-{}", dir_, clock);
    fs::create_directories(one);
    fs::copy(fmt::format("{}/clock-{}", ckpt_, clock), fmt::format("{}/clock-{}", one, clock));
    return one;
  }
  testing::EcpsRun Resume(const std::string& extra, const std::string& from,
                          const std::string& out) const {
    return RunEcps(fmt::format("{} {} --out {} --resume {}", train_, extra, out, from));
  }

  std::string dir_ = TempDir("ckpt_cf").string();
  std::string ckpt_ = dir_ + "/ckpt";
  std::string train_;
};

TEST_F(CfCheckpoints, AfterIngestEveryFortiethTaskAndTheLastOne) {
  // 210 tasks: clocks 1 (ingest), 41, 81, 121, 161, 201 and 211 (the last task).
  EXPECT_EQ(testing::Names(ckpt_),
            (std::set<std::string>{"clock-1", "clock-41", "clock-81", "clock-121", "clock-161",
                                   "clock-201", "clock-211"}));
  const auto m = nlohmann::json::parse(Slurp(dir_ + "/ck/metrics.json"));
  EXPECT_EQ(m["checkpoints"]["written"], 7);
  EXPECT_GT(m["checkpoints"]["last_bytes"].get<double>(), 0);
}

TEST_F(CfCheckpoints, ResumesFromIngestMidSimilarityAndTheEndGiveTheSameBytes) {
  for (int clock : {1, 81, 211}) {
    const std::string out = fmt::format("{}/res-{}", dir_, clock);
    const auto r = Resume("--servers 2", Only(clock), out);
    ASSERT_EQ(r.exit_code, 0) << clock << "\n" << r.err;
    ExpectSameModel(dir_ + "/full", out);
  }
}

TEST_F(CfCheckpoints, DamagedNewestCheckpointsFallBackToAnOlderOne) {
  {
    std::fstream f(ckpt_ + "/clock-211/neighbors-1.bin",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(80);
    f.put('\x55');
  }
  fs::remove(ckpt_ + "/clock-201/MANIFEST");
  fs::resize_file(ckpt_ + "/clock-161/worker-0.bin", 100);
  const auto r = Resume("", ckpt_, dir_ + "/res");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("does not match its checksum; trying an older one"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("no manifest (incomplete)"), std::string::npos) << r.err;
  const auto m = nlohmann::json::parse(Slurp(dir_ + "/res/metrics.json"));
  EXPECT_EQ(m["checkpoints"]["resumed_from"], ckpt_ + "/clock-121") << r.err;
  ExpectSameModel(dir_ + "/full", dir_ + "/res");
}

TEST_F(CfCheckpoints, OtherOptionsDataOrKindAreRefusedNamingTheDifference) {
  auto r = Resume("--neighbors 12", ckpt_, dir_ + "/r1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("was made with --neighbors 10; this run has --neighbors 12"),
            std::string::npos)
      << r.err;
  r = RunEcps(fmt::format("train usercf --train {}/interactions.csv --local --workers 2 --out "
                          "{}/r3 --resume {}",
                          dir_, dir_, ckpt_));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("itemcf"), std::string::npos) << r.err;
  {
    std::ofstream f(dir_ + "/interactions.csv", std::ios::app);
    f << "user-1,sku-0001,5,99999999\n";
  }
  r = Resume("", ckpt_, dir_ + "/r4");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the size of --train"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/r1"));
  EXPECT_FALSE(fs::exists(dir_ + "/r4"));
}

TEST(CfCheckpointOptions, TimeIntervalsAndRefusals) {
  const std::string dir = TempDir("ckpt_cf_opts").string();
  const std::string train =
      CheckpointTrain("usercf", WriteCheckpointData(dir)) + " --local --workers 2";
  const auto full = RunEcps(fmt::format("{} --out {}/full", train, dir));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  // A checkpoint after ingest, after the last task, and after the first task ending 50 ms
  // after the last checkpoint: at least one such (the similarity phase of this run, 210 tasks,
  // lasts longer), and the model is the same.
  const auto timed = RunEcps(fmt::format(
      "{} --out {}/timed --checkpoint-dir {}/ck --checkpoint-every 0.05s", train, dir, dir));
  ASSERT_EQ(timed.exit_code, 0) << timed.err;
  ExpectSameModel(dir + "/full", dir + "/timed");
  const auto m = nlohmann::json::parse(Slurp(dir + "/timed/metrics.json"));
  EXPECT_GE(m["checkpoints"]["written"].get<int>(), 3) << m["checkpoints"];
  EXPECT_EQ(testing::Names(dir + "/ck").size(), 2u);  // --checkpoint-keep 2

  auto r = RunEcps(fmt::format("{} --out {}/o --checkpoint-dir {}/o/ck", train, dir, dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("lies inside --out"), std::string::npos) << r.err;
  r = RunEcps(
      fmt::format("{} --out {}/o --checkpoint-dir {}/ck --checkpoint-every 0", train, dir, dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--checkpoint-every"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("{} --out {}/o --resume", train, dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--resume needs a folder"), std::string::npos) << r.err;
  std::ofstream(dir + "/key") << "a test key of 32 bytes, no more.";
  fs::permissions(dir + "/key", fs::perms::owner_read | fs::perms::owner_write);
  r = RunEcps(fmt::format("{} --out {}/o --checkpoint-dir {}/ck --encrypt-key {}/key", train, dir,
                          dir, dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not with --encrypt-key"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps
