#include "serve/tokens.h"

#include <sstream>

#include <fmt/format.h>

#include "privacy/key_file.h"

namespace ecps::serve {

Result<Tokens> LoadTokens(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(const std::string bytes, privacy::ReadOwnerOnlyFile(path, "token file"));
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
