// Helpers of the pipeline tests: run ecps from the repository root, read outputs.
#pragma once

#include <unistd.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ecps::testing {
namespace fs = std::filesystem;

struct CommandRun {
  int rc = 0;
  std::string out;
};

/// Runs `command` with the repository root as working folder (the examples' relative paths
/// start there); stdout and stderr together.
inline CommandRun InRepo(const std::string& command) {
  CommandRun r;
  FILE* p = popen(fmt::format("cd {} && {} 2>&1", ECPS_SOURCE_DIR, command).c_str(), "r");
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json Json(const fs::path& p) { return nlohmann::json::parse(Slurp(p)); }

/// path -> crc32 from a manifest.json.
inline std::map<std::string, std::string> Manifest(const fs::path& dir) {
  std::map<std::string, std::string> m;
  const auto manifest = Json(dir / "manifest.json");  // named: a temporary would die before the loop
  for (const auto& f : manifest["files"]) {
    m[f["path"].get<std::string>()] = f["crc32"].get<std::string>();
  }
  return m;
}

inline fs::path TempDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("ecps_{}_{}", name, getpid());
  fs::remove_all(d);
  return d;
}

}  // namespace ecps::testing
