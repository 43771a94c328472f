#include "serve/tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace ecps::serve {

Result<Tokens> LoadTokens(const std::string& path) {
  // Opened first and checked through the descriptor, so that the file checked is the one read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgument(
        fmt::format("token file {}: cannot open: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  std::string bytes;
  Status status = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    status = InvalidArgument(fmt::format("token file {}: {}", path, std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = InvalidArgument(fmt::format("token file {}: not a regular file", path));
  } else if ((st.st_mode & 077) != 0) {
    status = InvalidArgument(fmt::format(
        "token file {}: its group or others may access it (mode {:03o}); tokens must be "
        "readable by their owner only: chmod 600 {}",
        path, st.st_mode & 0777, path));
  } else {
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<std::size_t>(n));
    if (n < 0) {
      status = InvalidArgument(fmt::format("token file {}: {}", path, std::strerror(errno)));
    }
  }
  ::close(fd);
  ECPS_RETURN_IF_ERROR(status);
  Tokens t;
  std::istringstream in(bytes);
  for (std::string* line : {&t.scoring, &t.admin}) {
    std::getline(in, *line);
    if (!line->empty() && line->back() == '\r') line->pop_back();
  }
  if (t.scoring.empty()) {
    return InvalidArgument(fmt::format("token file {}: the first line (scoring token) is empty",
                                       path));
  }
  if (t.admin == t.scoring) {
    return InvalidArgument(
        fmt::format("token file {}: the admin token (second line) equals the scoring token", path));
  }
  return t;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::optional<Reply> Refusal(const Tokens& tokens, std::string_view target,
                             std::string_view authorization) {
  target = target.substr(0, target.find('?'));
  if (target == "/healthz") return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  const bool has = authorization.starts_with(kBearer);
  const std::string_view given = has ? authorization.substr(kBearer.size()) : "";
  const bool scoring = has && ConstantTimeEqual(given, tokens.scoring);
  const bool admin = has && !tokens.admin.empty() && ConstantTimeEqual(given, tokens.admin);
  if (target.starts_with("/v1/admin/")) {
    if (admin) return std::nullopt;
    if (tokens.admin.empty())
      return ErrorReply(403, "admin endpoints are off: the token file has no admin token");
    if (scoring) return ErrorReply(403, "this endpoint needs the admin token");
  } else if (scoring || admin) {
    return std::nullopt;
  }
  return ErrorReply(401, has ? "the bearer token is wrong"
                             : "this endpoint needs an Authorization: Bearer token");
}

}  // namespace ecps::serve
