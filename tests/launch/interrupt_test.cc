// launch/interrupt: what SIGTERM and SIGINT do to a process with the signal watcher, in a
// child process (gtest death tests), with real signals and real files.
#include "launch/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "models/common/checkpoint.h"
#include "util/files.h"

namespace ecps::launch {
namespace {

namespace fs = std::filesystem;

std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class Watcher : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "fast");  // forked child: it sees the parent's dir_
    dir_ = fs::temp_directory_path() / ("ecps_interrupt_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Opens a file for writing as `ecps predict` does, and is sent `signo` while writing it.
[[noreturn]] void SignalledWhileWriting(const fs::path& file, int signo, bool interruptible) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("stderr"));  // as ecps logs
  StartSignalWatcher();
  std::optional<InterruptibleScope> scope;
  if (interruptible) scope.emplace();
  auto w = util::AtomicWriter::Open(file.string());
  if (!w.ok() || !(*w)->Write("half of a file\n").ok()) std::_Exit(10);
  kill(getpid(), signo);
  // Outside a scope the process ends by the signal; inside one, the signal is recorded and
  // the code stops at its next safe point (here: the next turn of this loop).
  for (int i = 0; i < 500 && InterruptStatus().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::_Exit(InterruptStatus().ok() ? 11 : 12);
}

TEST_F(Watcher, ASignalOutsideAScopeEndsTheProcessAndRemovesTheFileItWasWriting) {
  for (int signo : {SIGTERM, SIGINT}) {
    EXPECT_EXIT(SignalledWhileWriting(dir_ / "scores.txt", signo, false),
                ::testing::KilledBySignal(signo), "");
    EXPECT_EQ(Names(dir_), std::set<std::string>{}) << "the process left a temporary file";
  }
}

TEST_F(Watcher, ASignalInsideAScopeIsRecordedForTheNextSafePoint) {
  EXPECT_EXIT(SignalledWhileWriting(dir_ / "scores.txt", SIGTERM, true), ::testing::ExitedWithCode(12),
              "SIGTERM received: stopping at the next safe point");
}

// Logs to a stderr that nobody reads and that is full (a launcher that stopped draining its
// ranks' output), then is sent SIGTERM: the watcher's line cannot be written, yet the signal
// must be recorded (exit 12), not wait for the write forever (exit 11).
[[noreturn]] void SignalledWithAFullStderr() {
  int fds[2];
  if (pipe(fds) != 0) std::_Exit(10);
  const int flags = fcntl(fds[1], F_GETFL);
  fcntl(fds[1], F_SETFL, flags | O_NONBLOCK);
  const char block[4096] = {};
  while (write(fds[1], block, sizeof block) > 0) {
  }
  fcntl(fds[1], F_SETFL, flags);  // full, and writes block again
  dup2(fds[1], STDERR_FILENO);
  spdlog::set_default_logger(spdlog::stderr_logger_st("stderr"));
  StartSignalWatcher();
  InterruptibleScope scope;
  kill(getpid(), SIGTERM);
  for (int i = 0; i < 300 && InterruptStatus().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::_Exit(InterruptStatus().ok() ? 11 : 12);
}

TEST_F(Watcher, ASignalIsRecordedEvenWhenItsLogLineCannotBeWritten) {
  EXPECT_EXIT(SignalledWithAFullStderr(), ::testing::ExitedWithCode(12), "");
}

// Sends itself SIGHUP twice, in a HangupScope or not; exits 13 once both are counted.
[[noreturn]] void Hangup(bool in_scope) {
  StartSignalWatcher();
  std::optional<HangupScope> scope;
  if (in_scope) scope.emplace();
  for (int n = 1; n <= 2; ++n) {
    kill(getpid(), SIGHUP);
    for (int i = 0; i < 500 && HangupsReceived() < static_cast<std::uint64_t>(n); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::_Exit(HangupsReceived() == 2 && InterruptStatus().ok() ? 13 : 14);
}

TEST_F(Watcher, SighupEndsTheProcessOutsideAHangupScopeAndIsCountedInOne) {
  EXPECT_EXIT(Hangup(false), ::testing::KilledBySignal(SIGHUP), "");
  EXPECT_EXIT(Hangup(true), ::testing::ExitedWithCode(13), "");
}

// Sends itself SIGUSR1, in an InterruptibleScope or not; exits 15 once the checkpoint-and-stop
// flag is set (and no interrupt recorded): the signal never ends the process.
[[noreturn]] void Usr1(bool in_scope) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("stderr"));
  StartSignalWatcher();
  std::optional<InterruptibleScope> scope;
  if (in_scope) scope.emplace();
  kill(getpid(), SIGUSR1);
  for (int i = 0; i < 500 && !models::CheckpointAndStopRequested(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::_Exit(models::CheckpointAndStopRequested() && InterruptStatus().ok() ? 15 : 16);
}

TEST_F(Watcher, Sigusr1AsksForACheckpointAndStopInAScopeOrNot) {
  for (bool in_scope : {false, true}) {
    EXPECT_EXIT(Usr1(in_scope), ::testing::ExitedWithCode(15),
                "SIGUSR1 received: a training with --checkpoint-dir");
  }
}

TEST(InterruptExitCode, AStopAfterARequestedCheckpointIs75OnEveryRank) {
  const Status stop = models::CheckpointStopped("ckpt/clock-7");
  EXPECT_TRUE(models::IsCheckpointStop(stop));
  EXPECT_EQ(InterruptExitCode(stop), 75);
  EXPECT_EQ(InterruptExitCode(stop.WithContext("rank 2 (worker 0)")), 75);
  EXPECT_FALSE(models::IsCheckpointStop(Interrupted("interrupted by SIGTERM")));
  EXPECT_FALSE(models::IsCheckpointStop(Internal("stopped after writing checkpoint x")));
}

}  // namespace
}  // namespace ecps::launch
