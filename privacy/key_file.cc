#include "privacy/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ecps::privacy {

Result<std::string> ReadOwnerOnlyFile(const std::string& path, std::string_view what) {
  // Opened first and checked through the descriptor, so that the file checked is the one read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgument(
        fmt::format("{} {}: cannot open: {}", what, path, std::strerror(errno)));
  }
  struct stat st {};
  std::string bytes;
  Status status = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    status = InvalidArgument(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = InvalidArgument(fmt::format("{} {}: not a regular file", what, path));
  } else if ((st.st_mode & 077) != 0) {
    status = InvalidArgument(fmt::format(
        "{} {}: its group or others may access it (mode {:03o}); a secret must be readable "
        "by its owner only: chmod 600 {}",
        what, path, st.st_mode & 0777, path));
  } else {
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<std::size_t>(n));
    if (n < 0) status = InvalidArgument(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
  }
  ::close(fd);
  ECPS_RETURN_IF_ERROR(status);
  return bytes;
}

Result<std::string> ReadSecretKeyFile(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(std::string bytes, ReadOwnerOnlyFile(path, "key file"));
  if (bytes.size() < kMinKeyBytes) {
    return InvalidArgument(fmt::format(
        "key file {}: {} bytes; a key needs at least {} (e.g. head -c 32 /dev/urandom > {})", path,
        bytes.size(), kMinKeyBytes, path));
  }
  return bytes;
}

}  // namespace ecps::privacy
