// Shared helpers of the libFuzzer targets in fuzz/ (see scripts/fuzz.sh).
//
// A target fails only on crashes, sanitizer reports, uncaught exceptions, timeouts and running
// out of memory: the functions under test return Status for bad input, so an error is an
// expected outcome and is ignored. Check() marks an invariant a successful result must hold.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ecps::fuzz {

/// A file in /dev/shm (else /tmp) private to this process, rewritten with each input: the
/// readers take paths. Removed at normal exit; scripts/fuzz.sh removes leftovers of crashes.
class ScratchFile {
 public:
  explicit ScratchFile(const char* tag) {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/ecps-fuzz-" + tag + "-" + std::to_string(getpid());
  }
  ~ScratchFile() { unlink(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  /// Replaces the file's contents with `bytes`; returns the path.
  const std::string& Write(std::string_view bytes) {
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) Die("cannot create");
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) Die("cannot write");
      done += static_cast<std::size_t>(n);
    }
    close(fd);
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void Die(const char* what) const {
    std::fprintf(stderr, "fuzz harness: %s %s\n", what, path_.c_str());
    std::abort();
  }
  std::string path_;
};

/// The fuzz input as a byte view.
inline std::string_view Bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Takes the first byte of `*in` (0 when empty) as option bits and drops it from `*in`.
inline std::uint8_t TakeByte(std::string_view* in) {
  if (in->empty()) return 0;
  const auto b = static_cast<std::uint8_t>((*in)[0]);
  in->remove_prefix(1);
  return b;
}

/// An invariant of a successful result; a violation is a finding.
inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz harness: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace ecps::fuzz
