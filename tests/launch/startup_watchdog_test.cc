// launch/startup_watchdog: the timeout from ECPS_STARTUP_TIMEOUT, and the watchdog ending a
// process that does not finish its start-up in time (a death test: a child process).
#include "launch/startup_watchdog.h"

#include <stdlib.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace ecps::launch {
namespace {

TEST(StartupTimeout, ReadsSecondsAndFallsBackTo300OnBadValues) {
  unsetenv("ECPS_STARTUP_TIMEOUT");
  EXPECT_EQ(StartupTimeoutSeconds(), 300);
  setenv("ECPS_STARTUP_TIMEOUT", "12.5", 1);
  EXPECT_EQ(StartupTimeoutSeconds(), 12.5);
  for (const char* bad : {"0", "-3", "ten", "5s", "nan", "inf"}) {
    setenv("ECPS_STARTUP_TIMEOUT", bad, 1);
    EXPECT_EQ(StartupTimeoutSeconds(), 300) << bad;
  }
  unsetenv("ECPS_STARTUP_TIMEOUT");
}

TEST(StartupWatchdog, EndsAStartThatTakesTooLongWithExitCode4) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("SLURM_PROCID", "3", 1);
  EXPECT_EXIT(
      {
        const StartupWatchdog watchdog(0.2);
        std::this_thread::sleep_for(std::chrono::seconds(30));  // a start-up that hangs
      },
      ::testing::ExitedWithCode(4), "task 3: the job's tasks did not all start within 0.2 s");
  unsetenv("SLURM_PROCID");
}

TEST(StartupWatchdog, LeavesAStartThatEndsInTimeAlone) {
  const auto begin = std::chrono::steady_clock::now();
  { const StartupWatchdog watchdog(60); }  // destroyed at once: the thread ends without waiting
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(30));
}

}  // namespace
}  // namespace ecps::launch
