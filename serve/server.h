// The HTTP/1.1 server of `ecps serve` on Boost.Beast over Boost.Asio: `threads` io threads
// run one io_context; each connection has its own strand. Keep-alive and pipelined requests
// are answered in order. A request whose body passes `max_body` gets 413. A request's header
// has to arrive within `header_timeout_s` and the whole request within `read_timeout_s`, both
// counted from the start of its read (a connection idle between requests is closed after the
// header timeout; a client sending a byte a second is dropped); else the connection is closed.
// Answers are written within `read_timeout_s`. A connection beyond `max_connections` gets 503
// and is closed.
//
// TLS (`tls` set): every connection must start with a TLS handshake (TLS 1.2 or 1.3, within
// the header timeout); one that starts with plain HTTP gets a plain 400 and is closed. The
// requests and answers are then those of plain HTTP, answered by the same code.
//
// Draining: once `stop_requested()` returns true (polled every 50 ms), the server stops
// accepting, answers the requests it has received, closes idle connections (and those still
// sending a request) and returns OK.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ps/status.h"
#include "serve/api.h"
#include "serve/tokens.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace ecps::serve {

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 0;  ///< 0: a free port
  int threads = 2;
  std::uint64_t max_body = 8u << 20;
  double read_timeout_s = 10;   ///< the whole request (and the writing of an answer)
  double header_timeout_s = 5;  ///< the request header (and a TLS handshake)
  /// Connections open at once; one more is answered 503 and closed.
  int max_connections = 1024;
  /// When set, requests need a bearer token (serve/tokens.h: Refusal); a 401 answer carries
  /// `WWW-Authenticate: Bearer`.
  std::optional<Tokens> tokens;
  /// When set, connections speak TLS with this context (serve/tls.h: LoadTlsContext).
  std::shared_ptr<boost::asio::ssl::context> tls;
};

/// Serves `models` until stop_requested() returns true, then drains and returns. Prints
/// "listening on ADDRESS:PORT" (the bound port) as a line on stdout once accepting, with TLS a
/// second line "TLS 1.2/1.3 only: https://ADDRESS:PORT"; without TLS on an address that is not
/// a loopback one, a warning on stderr that traffic is unencrypted.
Status RunServer(const ServerOptions& options, ModelRegistry& models,
                 const std::function<bool()>& stop_requested);

}  // namespace ecps::serve
