// Bearer tokens of `ecps serve` (--token-file): one for the scoring endpoints, an optional one
// for /v1/admin/*. A request carries its token as `Authorization: Bearer <token>`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ps/status.h"
#include "serve/reply.h"

namespace ecps::serve {

struct Tokens {
  std::string scoring;
  std::string admin;  ///< empty: admin endpoints are refused (403)
};

/// Reads `path`: the first line is the scoring token, an optional second line the admin
/// token (a trailing "\r" is dropped). Refused (kInvalidArgument, naming the file): a missing
/// or non-regular file, one its group or others may access (mode & 077; the message says
/// `chmod 600`, as for the pseudonym key), an empty scoring token, equal tokens.
Result<Tokens> LoadTokens(const std::string& path);

/// True when `a` equals `b`, in a time that depends on their lengths only.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

/// The refusal of a request to `target` with the `authorization` header (may be empty), or
/// nullopt when it may go on: /healthz is open; /v1/admin/* needs the admin token (403 with
/// the scoring token or without an admin token); every other path the scoring (or admin)
/// token. 401 {"error": ...} for a missing or wrong token.
std::optional<Reply> Refusal(const Tokens& tokens, std::string_view target,
                             std::string_view authorization);

}  // namespace ecps::serve
