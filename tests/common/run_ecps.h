// Runs the ecps binary of the build under test (ECPS_BINARY) as a user would, and keeps its
// exit code and standard error for the test to check.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace ecps::testing {

struct EcpsRun {
  int exit_code = -1;  ///< 128 + signal when killed
  std::string err;     ///< standard error
};

/// Runs `ECPS_BINARY args` through the shell (args are shell words; quote paths yourself),
/// killed after `timeout_s`, with standard output discarded.
inline EcpsRun RunEcps(const std::string& args, int timeout_s = 120) {
  static std::atomic<int> counter{0};
  const auto err_path = std::filesystem::temp_directory_path() /
                        fmt::format("ecps_run_{}_{}.err", getpid(), counter++);
  const std::string cmd = fmt::format("timeout {} {} {} > /dev/null 2> '{}'", timeout_s, ECPS_BINARY, args,
                                      err_path.string());
  const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  EcpsRun r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace ecps::testing
