// The process of one MPI rank started by a given mpirun, for tests that kill a rank.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "tests/common/background.h"

namespace ecps::testing {

/// The pid of MPI rank `rank` among the children of `mpirun` (from their environment); -1 if
/// not (yet) there.
inline pid_t MpiRankPid(pid_t mpirun, int rank) {
  namespace fs = std::filesystem;
  const std::string want = fmt::format("OMPI_COMM_WORLD_RANK={}", rank);
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (!(stat >> pid >> comm >> state >> ppid) || ppid != mpirun) continue;
    const std::string env = Slurp(e.path() / "environ");
    std::size_t at = 0;
    for (std::size_t end; (end = env.find('\0', at)) != std::string::npos; at = end + 1) {
      if (env.compare(at, end - at, want) == 0) return static_cast<pid_t>(std::stol(name));
    }
  }
  return -1;
}

}  // namespace ecps::testing
