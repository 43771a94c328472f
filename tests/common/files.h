// Small file helpers of the tests: a fresh temporary folder, a whole file in and out.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ecps::testing {

/// An empty folder `ecps_<name>_<pid>` under the temporary folder (emptied if it existed).
inline std::filesystem::path FreshDir(const std::string& name) {
  auto d =
      std::filesystem::temp_directory_path() / ("ecps_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline std::string ReadBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteBytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace ecps::testing
