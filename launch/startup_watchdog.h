#pragma once
// Start-up guard for MPI jobs. A task that dies before it has joined MPI's start-up exchange
// (killed right after exec, out of memory while loading) leaves the other tasks waiting in
// MPI_Init for ever under srun: no PMIx event reports a process that never connected, and
// ecps's heartbeats have not started yet. The watchdog ends this process with exit code 4
// and a message when the start-up has not completed in time.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace ecps::launch {

/// Seconds that every rank may take to start: ECPS_STARTUP_TIMEOUT (a positive number of
/// seconds), 300 when unset. An unusable value is reported on stderr and the default used.
double StartupTimeoutSeconds();

/// Under launch/ecps-mpirun (ECPS_EXIT_LINE=1; mpirun --enable-recovery passes no exit codes
/// on): prints "ecps-exit: rank R code C" as this rank's last stderr line. Returns `code`.
int Exiting(int code);

/// While alive, ends the process with exit code 4 (and an error naming the task and the
/// timeout) if it is not destroyed within `seconds`.
class StartupWatchdog {
 public:
  explicit StartupWatchdog(double seconds);
  ~StartupWatchdog();
  StartupWatchdog(const StartupWatchdog&) = delete;
  StartupWatchdog& operator=(const StartupWatchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace ecps::launch
