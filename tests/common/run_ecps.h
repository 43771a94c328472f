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
/// killed after `timeout_s`, with standard output kept in `*out` (discarded when null).
inline EcpsRun RunEcps(const std::string& args, std::string* out, int timeout_s = 120) {
  static std::atomic<int> counter{0};
  const auto base = std::filesystem::temp_directory_path() /
                    fmt::format("ecps_run_{}_{}", getpid(), counter++);
  const std::string out_path = out ? base.string() + ".out" : "/dev/null";
  const std::string err_path = base.string() + ".err";
  const std::string cmd = fmt::format("timeout {} {} {} > '{}' 2> '{}'", timeout_s, ECPS_BINARY,
                                      args, out_path, err_path);
  const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  EcpsRun r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::remove(path);
    return ss.str();
  };
  r.err = slurp(err_path);
  if (out) *out = slurp(out_path);
  return r;
}

/// As above, standard output discarded.
inline EcpsRun RunEcps(const std::string& args, int timeout_s = 120) {
  return RunEcps(args, nullptr, timeout_s);
}

}  // namespace ecps::testing
