// An HTTP answer of `ecps serve` before it is put on the wire, and the JSON helpers the
// endpoints share.
#pragma once

#include <string>
#include <string_view>

namespace ecps::serve {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// `s` as a JSON string literal (quotes included).
std::string JsonString(std::string_view s);
/// {"error": message} with the given status.
Reply ErrorReply(int status, std::string_view message);

}  // namespace ecps::serve
