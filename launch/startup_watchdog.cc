#include "launch/startup_watchdog.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ecps::launch {
namespace {

const char* Env(const char* name) { return std::getenv(name); }  // NOLINT(concurrency-mt-unsafe)

// This task's rank as its launcher numbers it (MPI has not said yet).
std::string LauncherRank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"}) {
    if (const char* v = Env(name)) return v;
  }
  return "?";
}

}  // namespace

double StartupTimeoutSeconds() {
  constexpr double kDefault = 300;
  const char* v = Env("ECPS_STARTUP_TIMEOUT");
  if (v == nullptr || *v == '\0') return kDefault;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (*end != '\0' || !std::isfinite(s) || s <= 0) {
    std::fprintf(stderr,
                 "ecps: warning: ECPS_STARTUP_TIMEOUT='%s' is not a positive number of seconds; "
                 "using %.0f\n",
                 v, kDefault);
    return kDefault;
  }
  return s;
}

int Exiting(int code) {
  const char* on = Env("ECPS_EXIT_LINE");
  const char* rank = Env("OMPI_COMM_WORLD_RANK");
  if (on != nullptr && std::string_view(on) == "1" && rank != nullptr) {
    std::fprintf(stderr, "ecps-exit: rank %s code %d\n", rank, code);
    std::fflush(stderr);
  }
  return code;
}

StartupWatchdog::StartupWatchdog(double seconds) {
  thread_ = std::thread([this, seconds] {
    std::unique_lock lock(mu_);
    const auto limit = std::chrono::duration<double>(seconds);
    if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
    std::fprintf(stderr,
                 "ecps: error: task %s: the job's tasks did not all start within %g s "
                 "(ECPS_STARTUP_TIMEOUT): another task probably died while starting; "
                 "stopping\n",
                 LauncherRank().c_str(), seconds);
    std::fflush(stderr);
    _exit(Exiting(4));  // MPI_Init cannot be left any other way
  });
}

StartupWatchdog::~StartupWatchdog() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

}  // namespace ecps::launch
