#include "privacy/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ecps::privacy {

Result<std::string> ReadSecretKeyFile(const std::string& path) {
  // Opened first and checked through the descriptor, so that the file checked is the one read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgument(
        fmt::format("key file {}: cannot open: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  std::string bytes;
  Status status = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    status = InvalidArgument(fmt::format("key file {}: {}", path, std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = InvalidArgument(fmt::format("key file {}: not a regular file", path));
  } else if ((st.st_mode & 077) != 0) {
    status = InvalidArgument(fmt::format(
        "key file {}: its group or others may access it (mode {:03o}); a secret key must be "
        "readable by its owner only: chmod 600 {}",
        path, st.st_mode & 0777, path));
  } else {
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<std::size_t>(n));
    if (n < 0) status = InvalidArgument(fmt::format("key file {}: {}", path, std::strerror(errno)));
  }
  ::close(fd);
  ECPS_RETURN_IF_ERROR(status);
  if (bytes.size() < kMinKeyBytes) {
    return InvalidArgument(fmt::format(
        "key file {}: {} bytes; a key needs at least {} (e.g. head -c 32 /dev/urandom > {})", path,
        bytes.size(), kMinKeyBytes, path));
  }
  return bytes;
}

}  // namespace ecps::privacy
