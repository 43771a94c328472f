#include "util/output_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

namespace ecps::util {
namespace fs = std::filesystem;

namespace {

// Prefixes redirected to staging folders while their StagedOutput lives.
std::mutex g_staged_mu;
std::vector<std::pair<std::string, std::string>> g_staged;  // (prefix, staging folder)

std::string WithoutTrailingSlashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// The folder an output path names, as (parent, name): "out/" and "a/../out" are "out" in
// ".", and "." is its absolute path's last component.
Result<std::pair<fs::path, std::string>> Locate(const std::string& dir) {
  if (dir.empty()) return InvalidArgument("the output folder is an empty path");
  fs::path p = fs::path(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  if (p.filename() == "." || p.filename() == "..") {
    std::error_code ec;
    p = fs::absolute(p, ec).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
  }
  if (p.filename().empty() || p.filename() == "." || p.filename() == "..") {
    return InvalidArgument(fmt::format("{} cannot be an output folder", dir));
  }
  fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  return std::make_pair(parent, p.filename().string());
}

// Creates `dir` and its missing parents; returns the ones it created, deepest first.
Result<std::vector<std::string>> CreateFolders(const fs::path& dir) {
  std::vector<std::string> missing;
  std::error_code ec;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p.string());
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) return IoError(fmt::format("output folder {}: {}", dir.string(), ec.message()));
  return missing;
}

std::string HostName() {
  std::array<char, HOST_NAME_MAX + 1> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "this host";
  return name.data();
}

// Moves every entry of `from` into `to`: a folder into the folder of its name (merged), any
// other entry over the entry of its name.
Status MoveEntries(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (const auto& e : fs::directory_iterator(from, ec)) entries.push_back(e);
  if (ec) return IoError(fmt::format("{}: {}", from.string(), ec.message()));
  for (const auto& e : entries) {
    const fs::path dst = to / e.path().filename();
    if (e.is_directory(ec) && fs::is_directory(dst, ec)) {
      ECPS_RETURN_IF_ERROR(MoveEntries(e.path(), dst));
      continue;
    }
    if (std::rename(e.path().c_str(), dst.c_str()) != 0) {
      return IoError(fmt::format("{}: cannot move the finished file into place: {}", dst.string(),
                                 std::strerror(errno)));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<OutputLock>> OutputLock::Acquire(const std::string& dir) {
  ECPS_ASSIGN_OR_RETURN(auto where, Locate(dir));
  ECPS_RETURN_IF_ERROR(CreateFolders(where.first).status());
  const std::string path = (where.first / ("." + where.second + ".ecps-lock")).string();
  // A holder removes the file before it unlocks: a lock taken on a file that is no longer
  // at `path` is worthless, and the next attempt opens the new one.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return IoError(
          fmt::format("{}: cannot create the lock file: {}", path, std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::array<char, 256> owner{};
      const ssize_t n = pread(fd, owner.data(), owner.size() - 1, 0);
      close(fd);
      if (err != EWOULDBLOCK) {
        return IoError(fmt::format("{}: cannot lock: {}", path, std::strerror(err)));
      }
      std::string who = n > 0 ? std::string(owner.data(), static_cast<std::size_t>(n)) : "";
      while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
      return InvalidArgument(
          fmt::format("output folder {} is in use by another ecps run ({}; lock file {}): "
                      "wait for it to finish or choose another --out",
                      dir, who.empty() ? "pid unknown" : "pid " + who, path));
    }
    struct stat held = {};
    struct stat named = {};
    if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      const std::string me = fmt::format("{} on {}\n", getpid(), HostName());
      if (ftruncate(fd, 0) != 0 ||
          pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
        // The lock holds without the pid; a refused run then says "pid unknown".
      }
      return std::unique_ptr<OutputLock>(new OutputLock(path, fd));
    }
    close(fd);
  }
  return IoError(fmt::format("{}: cannot lock: the file keeps being replaced", path));
}

OutputLock::~OutputLock() {
  unlink(path_.c_str());
  close(fd_);
}

StagedOutput::StagedOutput(std::string dir, std::string target, std::string staging,
                           std::unique_ptr<OutputLock> lock,
                           std::vector<std::string> created_parents)
    : dir_(WithoutTrailingSlashes(std::move(dir))),
      target_(std::move(target)),
      staging_(std::move(staging)),
      lock_(std::move(lock)),
      created_parents_(std::move(created_parents)) {
  std::lock_guard lock_guard(g_staged_mu);
  g_staged.emplace_back(dir_, staging_);
}

Result<std::unique_ptr<StagedOutput>> StagedOutput::Begin(const std::string& dir) {
  ECPS_ASSIGN_OR_RETURN(auto where, Locate(dir));
  const fs::path target = where.first / where.second;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      return IoError(fmt::format("output folder {}: not a folder", dir));
    }
    if (access(target.c_str(), W_OK) != 0) {
      return IoError(fmt::format("output folder {}: not writable", dir));
    }
  }
  ECPS_ASSIGN_OR_RETURN(auto created, CreateFolders(where.first));
  auto lock = OutputLock::Acquire(dir);
  if (!lock.ok()) {
    for (const auto& p : created) fs::remove(p, ec);
    return lock.status();
  }
  const fs::path staging = where.first / ("." + where.second + ".ecps-staging");
  fs::remove_all(staging, ec);  // left by a run that was killed
  if (ec || !fs::create_directory(staging, ec) || ec) {
    for (const auto& p : created) fs::remove(p, ec);
    return IoError(
        fmt::format("output folder {}: cannot create {}: {}", dir, staging.string(), ec.message()));
  }
  return std::unique_ptr<StagedOutput>(new StagedOutput(
      dir, target.string(), staging.string(), std::move(lock).value(), std::move(created)));
}

StagedOutput::~StagedOutput() {
  {
    std::lock_guard lock_guard(g_staged_mu);
    for (auto it = g_staged.begin(); it != g_staged.end(); ++it) {
      if (it->second == staging_) {
        g_staged.erase(it);
        break;
      }
    }
  }
  std::error_code ec;
  fs::remove_all(staging_, ec);  // best effort: nothing of an unpublished run stays
  lock_.reset();
  if (!published_) {
    for (const auto& p : created_parents_) fs::remove(p, ec);  // only while empty
  }
}

Status StagedOutput::Publish() {
  if (published_) return FailedPrecondition(dir_ + ": already published");
  std::error_code ec;
  if (!fs::exists(target_, ec)) {
    if (std::rename(staging_.c_str(), target_.c_str()) != 0) {
      return IoError(
          fmt::format("output folder {}: cannot move the finished outputs into place: {}", dir_,
                      std::strerror(errno)));
    }
  } else {
    ECPS_RETURN_IF_ERROR(MoveEntries(staging_, target_));
  }
  published_ = true;
  return Status::Ok();
}

std::string StagedPath(const std::string& path) {
  std::lock_guard lock(g_staged_mu);
  for (const auto& [prefix, staging] : g_staged) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    if (path.size() > prefix.size() && path[prefix.size()] != '/' && prefix != "/") continue;
    std::size_t rest = prefix.size();
    while (rest < path.size() && path[rest] == '/') ++rest;
    return rest == path.size() ? staging : staging + "/" + path.substr(rest);
  }
  return path;
}

Status PrepareOutputDir(const std::string& dir) {
  const std::string real = StagedPath(dir);
  std::error_code ec;
  fs::create_directories(real, ec);
  if (ec) return IoError(fmt::format("output folder {}: {}", dir, ec.message()));
  if (!fs::is_directory(real)) return IoError(fmt::format("output folder {}: not a folder", dir));
  if (access(real.c_str(), W_OK) != 0) {
    return IoError(fmt::format("output folder {}: not writable", dir));
  }
  return Status::Ok();
}

}  // namespace ecps::util
