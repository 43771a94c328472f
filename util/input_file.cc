#include "util/input_file.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include <fmt/format.h>

namespace ecps::util {
namespace {

// The copies made so far. Each is an unlinked temporary file kept open by this process and
// opened again through /proc/self/fd/N, so that it disappears however the process ends.
struct Spool {
  static Spool& Get() {
    static Spool s;
    return s;
  }
  std::mutex mu;
  struct Copy {
    Result<std::string> local = std::string();  // /proc/self/fd/N, or why there is none
    int fd = -1;
    std::string identity;  // of the file copied (FileIdentity): a changed file is copied again
  };
  std::map<std::string, Copy> copies;  // by the user's path (stdin: read once, even on error)
};

// Device, inode, size and modification time of a regular file; "" for standard input, a pipe
// (read once) or on error.
std::string FileIdentity(const std::string& path) {
  struct stat st {};
  if (path == kStdinPath || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::string();
  return fmt::format("{}:{}:{}:{}.{}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec);
}

// A new unlinked temporary file: its descriptor (kept open) and the path that reopens it.
Result<std::pair<int, std::string>> NewCopy(const std::string& shown) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ecps-input-XXXXXX").string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    return IoError(fmt::format("{}: cannot make a temporary file for its decompressed copy in {}: {}",
                               shown, tmpl, std::strerror(errno)));
  }
  ::unlink(tmpl.c_str());
  return std::make_pair(fd, fmt::format("/proc/self/fd/{}", fd));
}

bool HasGzipMagic(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char m[2] = {0, 0};
  const bool gz = std::fread(m, 1, 2, f) == 2 && m[0] == 0x1f && m[1] == 0x8b;
  std::fclose(f);
  return gz;
}

// zlib's message without the "path: " it starts with ("<fd:0>: " for standard input).
std::string ZlibReason(const char* message) {
  std::string m = message && *message ? message : "unknown error";
  const auto colon = m.find(": ");
  return colon == std::string::npos ? m : m.substr(colon + 2);
}

// Copies `in` (gzip or plain: zlib passes plain bytes through) to the file open as `out_fd`
// (on a full disk: "data.csv.gz: writing its temporary copy failed: No space left on device").
Status Decompress(gzFile in, const std::string& shown, int out_fd) {
  std::FILE* out = ::fdopen(::dup(out_fd), "wb");
  if (!out) {
    gzclose(in);
    return IoError(fmt::format("{}: cannot write its temporary copy: {}", shown,
                               std::strerror(errno)));
  }
  constexpr unsigned kChunk = 1u << 20;
  std::string buf(kChunk, '\0');
  std::uint64_t total = 0;
  Status status;
  while (true) {
    const int n = gzread(in, buf.data(), kChunk);
    int code = Z_OK;
    const char* why = gzerror(in, &code);
    if (n < 0 || (n == 0 && code != Z_OK)) {  // a truncated stream ends with Z_BUF_ERROR
      status = code == Z_ERRNO
                   ? IoError(fmt::format("{}: read failed: {}", shown, std::strerror(errno)))
                   : DataError(fmt::format("{}: not a valid gzip stream ({}) after {} decompressed bytes",
                                           shown, ZlibReason(why), total));
      break;
    }
    if (n == 0) break;
    if (std::fwrite(buf.data(), 1, static_cast<std::size_t>(n), out) != static_cast<std::size_t>(n)) {
      status = IoError(fmt::format("{}: writing its temporary copy failed: {}", shown,
                                   std::strerror(errno)));
      break;
    }
    total += static_cast<std::uint64_t>(n);
  }
  gzclose(in);
  if (std::fclose(out) != 0 && status.ok()) {
    status = IoError(fmt::format("{}: writing its temporary copy failed", shown));
  }
  return status;
}

}  // namespace

bool IsSpooledInput(const std::string& path) {
  if (path == kStdinPath) return true;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return !S_ISREG(st.st_mode) || HasGzipMagic(path);
}

Result<std::string> LocalInputPath(const std::string& path) {
  Spool& spool = Spool::Get();
  std::lock_guard lock(spool.mu);
  const std::string identity = FileIdentity(path);
  if (auto it = spool.copies.find(path); it != spool.copies.end()) {
    if (it->second.identity == identity) return it->second.local;
    if (it->second.fd >= 0) ::close(it->second.fd);
    spool.copies.erase(it);
  }
  gzFile in = nullptr;
  std::string shown = path;
  if (path == kStdinPath) {
    shown = "standard input (-)";
    const int fd = ::dup(STDIN_FILENO);
    if (fd < 0 || !(in = gzdopen(fd, "rb"))) {
      if (fd >= 0) ::close(fd);
      return IoError(fmt::format("{}: cannot read: {}", shown, std::strerror(errno)));
    }
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int e = errno;
      if (e == ENOENT) return NotFound(fmt::format("{}: {}", path, std::strerror(e)));
      return IoError(fmt::format("{}: {}", path, std::strerror(e)));
    }
    if (S_ISDIR(st.st_mode)) return IoError(fmt::format("{}: is a folder, not a file", path));
    if (S_ISREG(st.st_mode) && !HasGzipMagic(path)) return path;
    if (!(in = gzopen(path.c_str(), "rb"))) {
      return IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    }
  }
  gzbuffer(in, 1u << 18);
  auto copy = NewCopy(shown);
  if (!copy.ok()) {
    gzclose(in);
    return copy.status();
  }
  Status s = Decompress(in, shown, copy->first);
  if (!s.ok()) {
    ::close(copy->first);
    spool.copies[path] = {s, -1, identity};
    return s;
  }
  spool.copies[path] = {copy->second, copy->first, identity};
  return copy->second;
}

Status CheckStdinInputs(const std::vector<std::pair<std::string, std::string>>& inputs,
                        bool one_process) {
  std::string first;
  for (const auto& [option, path] : inputs) {
    if (path != kStdinPath) continue;
    if (!first.empty()) {
      return InvalidArgument(fmt::format(
          "{} -: standard input is already the input of {}; it can be read only once", option, first));
    }
    first = option;
    if (!one_process) {
      return InvalidArgument(fmt::format(
          "{} -: standard input reaches only one process of an mpirun job; give a file, or run "
          "with --local",
          option));
    }
  }
  return Status::Ok();
}

Status ForEachListLine(
    const std::string& path, const std::string& what,
    const std::function<Status(std::string_view line, std::size_t number)>& line_fn) {
  const bool from_stdin = path == kStdinPath;
  const std::string name = from_stdin ? "stdin" : path;
  std::ifstream file;
  if (!from_stdin) {
    const auto local = LocalInputPath(path);  // a gzip list is read decompressed
    if (local.ok()) file.open(*local, std::ios::binary);
    if (!local.ok() && local.status().code() != StatusCode::kNotFound) return local.status();
    if (!file.is_open() || !file) {
      return NotFound(fmt::format("{}: cannot open the {}", path, what));
    }
  }
  std::istream& in = from_stdin ? std::cin : file;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Status s = line_fn(line, number); !s.ok()) {
      return Status(s.code(), fmt::format("{}:{}: {}", name, number, s.message()));
    }
  }
  if (in.bad()) return IoError(fmt::format("{}: read failed", name));
  return Status::Ok();
}

}  // namespace ecps::util
