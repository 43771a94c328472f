// The HTTP/1.1 server of `ecps serve` on Boost.Beast over Boost.Asio: `threads` io threads
// run one io_context; each connection has its own strand. Keep-alive and pipelined requests
// are answered in order. A request whose body passes `max_body` gets 413, and one whose
// header and body are not received within `read_timeout_s` has its connection closed (a
// client sending a byte a second is dropped). Answers are written within the same time. A
// connection beyond `max_connections` gets 503 and is closed.
//
// Draining: once `stop_requested()` returns true (polled every 50 ms), the server stops
// accepting, answers the requests it has received, closes idle connections (and those still
// sending a request) and returns OK.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ps/status.h"
#include "serve/api.h"
#include "serve/tokens.h"

namespace ecps::serve {

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 0;  ///< 0: a free port
  int threads = 2;
  std::uint64_t max_body = 8u << 20;
  double read_timeout_s = 10;
  /// Connections open at once; one more is answered 503 and closed.
  int max_connections = 1024;
  /// When set, requests need a bearer token (serve/tokens.h: Refusal); a 401 answer carries
  /// `WWW-Authenticate: Bearer`.
  std::optional<Tokens> tokens;
};

/// Serves `models` until stop_requested() returns true, then drains and returns. Prints
/// "listening on ADDRESS:PORT" (the bound port) as a line on stdout once accepting.
Status RunServer(const ServerOptions& options, ModelRegistry& models,
                 const std::function<bool()>& stop_requested);

}  // namespace ecps::serve
