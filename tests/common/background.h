// An ecps process (or mpirun) running in the background, signalled and waited for like a
// user or a batch system would, and the folder helpers of the tests that use it (interrupts,
// output folders, killed ranks).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace ecps::testing {
namespace fs = std::filesystem;

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// How a process ended: its exit code, or the signal that killed it.
struct Ended {
  bool exited = false;
  int code = -1;   ///< exit code when `exited`
  int signal = 0;  ///< the killing signal otherwise (0: still running at the deadline)
  std::string Describe() const {
    if (exited) return fmt::format("exited with {}", code);
    return signal ? fmt::format("killed by signal {}", signal) : "still running";
  }
};

/// `command` run by sh (which execs its last command, so the pid is that of ecps or
/// mpirun) in its own process group, stdout and stderr into `log`. The whole group is
/// killed when the object goes away, so a failed assertion never leaves a job running.
class Background {
 public:
  Background(const std::string& command, const fs::path& log) : log_(log) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      const std::string full = fmt::format("exec {} > '{}' 2>&1", command, log.string());
      execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);
  }
  ~Background() {
    if (pid_ > 0 && !ended_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  std::string log() const { return Slurp(log_); }

  /// Waits until the log contains `needle` (true) or the process ended or `seconds` passed.
  bool WaitForLog(const std::string& needle, double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      if (log().find(needle) != std::string::npos) return true;
      if (!ended_ && waitpid(pid_, &status_, WNOHANG) == pid_) ended_ = true;
      if (ended_) return log().find(needle) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  /// Waits up to `seconds` for the process to end.
  Ended Wait(double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!ended_ && std::chrono::steady_clock::now() < until) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        ended_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Ended e;
    if (!ended_) return e;
    kill(-pid_, SIGKILL);  // anything a launcher left behind
    e.exited = WIFEXITED(status_);
    e.code = e.exited ? WEXITSTATUS(status_) : -1;
    e.signal = WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
    return e;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool ended_ = false;
};

/// `root`/`name`, emptied: a folder of its own for a test, holding only what the test puts
/// there.
inline fs::path FreshDir(const fs::path& root, const std::string& name) {
  fs::path d = root / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Every file under `dir` (relative path -> contents), for comparing a folder before and
/// after a run.
inline std::map<std::string, std::string> Contents(const fs::path& dir) {
  std::map<std::string, std::string> m;
  if (!fs::exists(dir)) return m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    m[rel] = e.is_regular_file() ? Slurp(e.path()) : "<folder>";
  }
  return m;
}

/// The names in `dir` (not recursive).
inline std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

}  // namespace ecps::testing
