// train kmeans and SIGUSR1 (Slurm's warning before a time limit) through the real binary,
// single-node mode: with --checkpoint-dir the run writes a checkpoint after its current
// iteration, publishes no outputs and exits 75; resumed, it gives the uninterrupted run's
// bytes. Without --checkpoint-dir the signal is ignored with a warning. The signal is sent
// as soon as the run's staging folder exists (the run has started, inside its signal scope),
// long before the last of its ~180 iterations.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/common/run_ecps.h"
#include "tests/kmeans/checkpoint_testing.h"

namespace ecps {
namespace {

namespace fs = std::filesystem;
using testing::RunEcps;

// Starts `command` (after the binary) in the background, waits for the staging folder of
// `out` to appear, then sends SIGUSR1; returns how the process ended.
testing::Ended SignalledRun(const kmtest::TempDir& dir, const std::string& command,
                            const std::string& out_name, std::string* log) {
  testing::Background run(fmt::format("{} {}", ECPS_BINARY, command), dir / "run.log");
  const fs::path staging = dir.path() / fmt::format(".{}.ecps-staging", out_name);
  for (int i = 0; i < 30000 && !fs::exists(staging); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(fs::exists(staging)) << run.log();
  EXPECT_EQ(kill(run.pid(), SIGUSR1), 0);
  const auto ended = run.Wait(120);
  *log = run.log();
  return ended;
}

TEST(KMeansCheckpointStop, Sigusr1WritesACheckpointExits75AndTheResumeGivesTheSameBytes) {
  kmtest::TempDir dir("ckpt-usr1");
  const std::string train = kmtest::UniformDataAndFullRun(dir);
  ASSERT_FALSE(HasFailure());

  // --checkpoint-every 500: no checkpoint but the requested one.
  const std::string ckpt = dir / "ckpt", out = dir / "out";
  std::string log;
  const auto ended = SignalledRun(
      dir,
      fmt::format("{} --local --workers 2 --out {} --checkpoint-dir {} --checkpoint-every 500",
                  train, out, ckpt),
      "out", &log);
  ASSERT_TRUE(ended.exited && ended.code == 75) << ended.Describe() << "\n" << log;
  EXPECT_NE(log.find("ecps: rank 0 (scheduler): kmeans run: stopped after writing checkpoint " +
                     ckpt + "/clock-"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("error"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out)) << "a stopped run published its outputs";
  EXPECT_FALSE(fs::exists(dir / ".out.ecps-staging"));
  const auto names = testing::Names(ckpt);
  ASSERT_EQ(names.size(), 1u) << "exactly the requested checkpoint";

  const auto resumed = RunEcps(fmt::format(
      "{} --local --workers 3 --out {} --checkpoint-dir {} --resume", train, out, ckpt));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  kmtest::ExpectSameModel(dir / "full", out);
  const auto m = nlohmann::json::parse(kmtest::ReadFile(out + "/metrics.json"));
  EXPECT_EQ(m["checkpoints"]["resumed_from"], ckpt + "/" + *names.begin());
  EXPECT_LT(std::stoi(names.begin()->substr(6)), m["iterations"].get<int>());
}

TEST(KMeansCheckpointStop, Sigusr1WithoutCheckpointDirIsIgnoredWithAWarning) {
  kmtest::TempDir dir("ckpt-usr1-none");
  const std::string train = kmtest::UniformDataAndFullRun(dir);
  ASSERT_FALSE(HasFailure());
  std::string log;
  const auto ended =
      SignalledRun(dir, fmt::format("{} --local --out {}", train, dir / "out"), "out", &log);
  ASSERT_TRUE(ended.exited && ended.code == 0) << ended.Describe() << "\n" << log;
  EXPECT_NE(log.find("checkpoint-and-stop request (SIGUSR1) ignored: no --checkpoint-dir"),
            std::string::npos)
      << log;
  kmtest::ExpectSameModel(dir / "full", dir / "out");
}

}  // namespace
}  // namespace ecps
