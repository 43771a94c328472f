// The client side of the serve tests: the port a started `ecps serve` names, requests over
// plain HTTP or TLS (a Beast client), raw bytes for broken requests, and the text helpers that
// compare answers with the command-line tools' output.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/background.h"

namespace ecps::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

/// The port that `server` (`ecps serve --port 0`) names in its first line, "listening on
/// 127.0.0.1:PORT"; 0, with a failure recorded, when it names none within 30 s.
inline int ListeningPort(Background& server) {
  if (!server.WaitForLog("listening on 127.0.0.1:", 30)) {
    ADD_FAILURE() << server.log();
    return 0;
  }
  std::smatch m;
  const std::string log = server.log();
  if (!std::regex_search(log, m, std::regex("^listening on 127\\.0\\.0\\.1:([0-9]+)\n"))) {
    ADD_FAILURE() << log;
    return 0;
  }
  return std::stoi(m[1].str());
}

struct Answer {
  int status = 0;
  std::string body;
};

inline tcp::endpoint Local(int port) {
  return {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)};
}

/// One request on the connected `stream`, with `Authorization: authorization` unless empty;
/// the answer's WWW-Authenticate header goes to `*challenge` when given.
template <class Stream>
Answer Exchange(Stream& stream, http::verb verb, const std::string& target,
                const std::string& body, const std::string& authorization,
                std::string* challenge) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "localhost");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  if (challenge) *challenge = std::string(res[http::field::www_authenticate]);
  return {static_cast<int>(res.result_int()), res.body()};
}

/// One plain-HTTP request on a fresh connection (see Exchange).
inline Answer Http(int port, http::verb verb, const std::string& target,
                   const std::string& body = "", const std::string& authorization = "",
                   std::string* challenge = nullptr) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(Local(port));
  return Exchange(s, verb, target, body, authorization, challenge);
}

inline Answer Post(int port, const std::string& target, const std::string& body) {
  return Http(port, http::verb::post, target, body);
}

/// A TLS client that trusts the certificate in `ca_file` only and checks that it names
/// 127.0.0.1.
class HttpsClient {
 public:
  explicit HttpsClient(const std::string& ca_file) : ctx_(ssl::context::tls_client) {
    ctx_.load_verify_file(ca_file);
    ctx_.set_verify_mode(ssl::verify_peer);
  }
  ssl::context& context() { return ctx_; }

  /// A connection to `port` after a verified handshake (throws on failure).
  std::unique_ptr<beast::ssl_stream<tcp::socket>> Connect(net::io_context& ioc, int port) {
    auto s = std::make_unique<beast::ssl_stream<tcp::socket>>(ioc, ctx_);
    s->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    s->next_layer().connect(Local(port));
    s->handshake(ssl::stream_base::client);
    return s;
  }

  /// One request on a fresh TLS connection (see Exchange).
  Answer Request(int port, http::verb verb, const std::string& target,
                 const std::string& body = "", const std::string& authorization = "") {
    net::io_context ioc;
    auto s = Connect(ioc, port);
    return Exchange(*s, verb, target, body, authorization, nullptr);
  }

 private:
  ssl::context ctx_;
};

/// Sends raw bytes on a fresh connection, then half-closes when `finish`; returns what comes
/// back until the server closes.
inline std::string Raw(int port, const std::string& bytes, bool finish) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(Local(port));
  beast::error_code ec;
  net::write(s, net::buffer(bytes), ec);
  if (finish) s.shutdown(tcp::socket::shutdown_send, ec);
  std::string got;
  char buf[4096];
  while (true) {
    const std::size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  return got;
}

/// Standard output of the shell command `command`.
inline std::string CommandOutput(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

/// Standard output of `ecps args` (standard error dropped).
inline std::string Capture(const std::string& args) {
  return CommandOutput(fmt::format("{} {} 2>/dev/null", ECPS_BINARY, args));
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The scores of `ecps predict`'s output `text`, after checking its header (id,`score`) and
// that its ids are the line numbers first_line, first_line + 1, ... (one row per line).
inline std::vector<std::string> PredictScores(const std::string& text, const std::string& score,
                                       int first_line) {
  auto lines = Lines(text);
  EXPECT_FALSE(lines.empty());
  if (lines.empty()) return {};
  EXPECT_EQ(lines[0], "id," + score);
  std::vector<std::string> scores;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto comma = lines[i].find(',');
    EXPECT_EQ(lines[i].substr(0, comma), std::to_string(first_line + i - 1)) << lines[i];
    scores.push_back(lines[i].substr(comma + 1));
  }
  return scores;
}

/// Every match of `re`'s groups, joined with commas, one string per match.
inline std::vector<std::string> Matches(const std::string& text, const std::string& re) {
  std::vector<std::string> out;
  const std::regex r(re);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), r); it != std::sregex_iterator();
       ++it) {
    std::string row;
    for (std::size_t g = 1; g < it->size(); ++g) row += (g > 1 ? "," : "") + (*it)[g].str();
    out.push_back(row);
  }
  return out;
}

}  // namespace ecps::testing
