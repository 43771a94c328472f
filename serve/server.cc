#include "serve/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace ecps::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// What the server does to every connection while draining.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// Closes the connection now when it waits for a request, else after the current answer.
  virtual void Drain() = 0;
};

std::string_view ToView(beast::string_view s) { return {s.data(), s.size()}; }

std::chrono::steady_clock::duration Duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

// A whole HTTP answer of `reply` that closes the connection, written as is on a socket that
// has no session (a refused connection, plain HTTP on a TLS port).
std::string ClosingAnswer(const Reply& reply) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nServer: ecps\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      reply.status, ToView(http::obsolete_reason(static_cast<http::status>(reply.status))),
      reply.content_type, reply.body.size(), reply.body);
}

// What every session shares.
struct Shared {
  Shared(const ServerOptions& o, ModelRegistry& m) : options(o), models(m) {}
  const ServerOptions& options;
  ModelRegistry& models;
  ServeMetrics metrics;
  net::thread_pool reloader{1};  // POST /v1/admin/reload runs here, off the io threads
  std::atomic<bool> draining{false};
  std::atomic<int> live{0};  // connections open
  std::mutex mu;
  std::list<std::weak_ptr<SessionBase>> sessions;
};

// One connection; `Stream` is beast::tcp_stream (plain HTTP) or an ssl_stream over it (TLS:
// the session first checks that the client speaks TLS and completes the handshake).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  /// `tls...`: the ssl::context of a TLS session, nothing for a plain one.
  template <class... Tls>
  Session(tcp::socket socket, Shared& shared, Tls&... tls)
      : stream_(std::move(socket), tls...), shared_(shared) {
    ++shared_.live;
  }
  ~Session() override { --shared_.live; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Detect();
      } else {
        self->Read();
      }
    });
  }

  void Drain() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  // TLS: the first bytes must start a TLS handshake; plain HTTP gets a 400 that says so.
  void Detect() {
    Tcp().expires_after(Duration(shared_.options.header_timeout_s));
    beast::async_detect_ssl(Tcp(), buffer_,
                            [self = this->shared_from_this()](beast::error_code ec, bool tls) {
                              if (ec) return self->Close();
                              if (!tls) return self->RefusePlain();
                              self->Handshake();
                            });
  }

  void RefusePlain() {
    auto text = std::make_shared<std::string>(ClosingAnswer(
        ErrorReply(400, "this port speaks HTTPS (TLS): plain HTTP is not answered")));
    shared_.metrics.Record("other", 400, 0);
    net::async_write(Tcp(), net::buffer(*text),
                     [self = this->shared_from_this(), text](beast::error_code, std::size_t) {
                       self->Close();
                     });
  }

  void Handshake() {
    if constexpr (kTls) {
      stream_.async_handshake(
          ssl::stream_base::server, buffer_.data(),
          [self = this->shared_from_this()](beast::error_code ec, std::size_t used) {
            if (ec) return self->Close();
            self->secure_ = true;
            self->buffer_.consume(used);
            self->Read();
          });
    }
  }

  // The header has to arrive within --header-timeout, the whole request within
  // --read-timeout, both from the start of the read.
  void Read() {
    busy_ = false;
    if (shared_.draining) return Close();
    parser_.emplace();
    parser_->body_limit(shared_.options.max_body);
    read_start_ = Clock::now();
    Tcp().expires_after(Duration(
        std::min(shared_.options.header_timeout_s, shared_.options.read_timeout_s)));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec || self->parser_->is_done()) return self->OnRead(ec);
          const auto whole = Duration(self->shared_.options.read_timeout_s);
          self->Tcp().expires_at(self->read_start_ + whole);
          http::async_read(self->stream_, self->buffer_, *self->parser_,
                           [self](beast::error_code ec2, std::size_t) { self->OnRead(ec2); });
        });
  }

  void OnRead(beast::error_code ec) {
    const auto start = Clock::now();
    if (ec == http::error::body_limit) {
      return Send(ErrorReply(413, fmt::format("the body is larger than {} bytes (--max-body)",
                                              shared_.options.max_body)),
                  "other", start, false);
    }
    if (ec == http::error::header_limit) {
      return Send(ErrorReply(431, "the request header is too large"), "other", start, false);
    }
    if (ec == http::error::bad_method || ec == http::error::bad_target ||
        ec == http::error::bad_version || ec == http::error::bad_field ||
        ec == http::error::bad_value || ec == http::error::bad_content_length ||
        ec == http::error::bad_transfer_encoding || ec == http::error::bad_chunk ||
        ec == http::error::bad_line_ending || ec == http::error::bad_obs_fold ||
        ec == http::error::bad_chunk_extension) {
      return Send(ErrorReply(400, fmt::format("malformed HTTP request: {}", ec.message())), "other",
                  start, false);
    }
    if (ec) return Close();  // end of stream, timeout, a client gone mid-request, drained
    busy_ = true;
    const auto& req = parser_->get();
    std::string endpoint = "other";
    std::optional<Reply> refused;
    if (shared_.options.tokens)
      refused = Refusal(*shared_.options.tokens, ToView(req.target()),
                        ToView(req[http::field::authorization]));
    const bool keep_alive = req.keep_alive() && !shared_.draining;
    if (!refused && req.method() == http::verb::post &&
        ToView(req.target()).substr(0, req.target().find('?')) == "/v1/admin/reload") {
      // Loaded on the reloader thread; the answer is written on this connection's strand. The
      // work guard keeps io_context::run going meanwhile (a drain waits for this answer).
      net::post(shared_.reloader, [self = this->shared_from_this(), start, keep_alive,
                                   work = net::make_work_guard(stream_.get_executor())]() mutable {
        Reply r{200, self->shared_.models.Reload()};
        net::post(self->stream_.get_executor(), [self, r = std::move(r), start, keep_alive] {
          self->Send(r, "admin", start, keep_alive);
        });
        work.reset();
      });
      return;
    }
    Reply reply = refused ? std::move(*refused)
                          : HandleRequest(shared_.models, shared_.metrics,
                                          ToView(req.method_string()), ToView(req.target()),
                                          req.body(), &endpoint);
    Send(std::move(reply), endpoint, start, keep_alive, req.method() == http::verb::head);
  }

  void Send(Reply reply, const std::string& endpoint, Clock::time_point start, bool keep_alive,
            bool head = false) {
    busy_ = true;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), 11);
    res->set(http::field::server, "ecps");
    res->set(http::field::content_type, reply.content_type);
    if (reply.status == 405)
      res->set(
          http::field::allow,
          endpoint == "models" || endpoint == "healthz" || endpoint == "metrics" ? "GET" : "POST");
    if (reply.status == 401) res->set(http::field::www_authenticate, "Bearer");
    res->body() = std::move(reply.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    if (head) res->body().clear();
    shared_.metrics.Record(endpoint, reply.status,
                           std::chrono::duration<double>(Clock::now() - start).count());
    Tcp().expires_after(Duration(shared_.options.read_timeout_s));
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec) return self->Close();
                        if (!res->keep_alive()) return self->Finish();
                        self->Read();
                      });
  }

  // After the last answer: TLS sends its close_notify (within the header timeout), then the
  // socket is closed.
  void Finish() {
    if constexpr (kTls) {
      if (secure_) {
        secure_ = false;
        busy_ = true;
        Tcp().expires_after(Duration(shared_.options.header_timeout_s));
        stream_.async_shutdown(
            [self = this->shared_from_this()](beast::error_code) { self->Close(); });
        return;
      }
    }
    Close();
  }

  void Close() {
    busy_ = false;
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().socket().close(ec);
  }

  Stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Clock::time_point read_start_;
  bool busy_ = false;    // a request is being answered
  bool secure_ = false;  // TLS: the handshake is done and no close_notify was sent
};

class Listener {
 public:
  Listener(net::io_context& ioc, Shared& shared)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), shared_(shared) {}

  Status Open(const std::string& address, int port) {
    beast::error_code ec;
    const auto addr = net::ip::make_address(address, ec);
    if (ec) return InvalidArgument(fmt::format("--address {}: not an IP address", address));
    const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return IoError(fmt::format("cannot listen on {}:{}: {}", address, port, ec.message()));
    return Status::Ok();
  }
  tcp::endpoint local() const { return acceptor_.local_endpoint(); }

  void Accept() {
    acceptor_.async_accept(
        net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
          if (shared_.draining || !acceptor_.is_open()) return;
          if (!ec && shared_.live >= shared_.options.max_connections) {
            Refuse(std::move(socket));
          } else if (!ec) {
            if (shared_.options.tls) {
              Launch(std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                  std::move(socket), shared_, *shared_.options.tls));
            } else {
              Launch(std::make_shared<Session<beast::tcp_stream>>(std::move(socket), shared_));
            }
          }
          Accept();
        });
  }

  template <class S>
  void Launch(std::shared_ptr<S> s) {
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      shared_.sessions.remove_if([](const auto& w) { return w.expired(); });
      shared_.sessions.push_back(s);
    }
    s->Start();
  }

  // Over --max-connections: 503 and close, in plain HTTP even on a TLS port (a short answer on
  // a fresh socket: the write does not wait).
  void Refuse(tcp::socket socket) {
    const std::string text = ClosingAnswer(
        ErrorReply(503, fmt::format("more than {} connections are open (--max-connections)",
                                    shared_.options.max_connections)));
    beast::error_code ec;
    net::write(socket, net::buffer(text), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    shared_.metrics.Record("other", 503, 0);
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
  }

 private:
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Shared& shared_;
};

}  // namespace

Status RunServer(const ServerOptions& options, ModelRegistry& models,
                 const std::function<bool()>& stop_requested) {
  net::io_context ioc(options.threads);
  Shared shared(options, models);
  Listener listener(ioc, shared);
  ECPS_RETURN_IF_ERROR(listener.Open(options.address, options.port));
  const auto local = listener.local();
  const std::string where = fmt::format("{}:{}", local.address().to_string(), local.port());
  std::printf("listening on %s\n", where.c_str());
  if (options.tls) std::printf("TLS 1.2/1.3 only: https://%s\n", where.c_str());
  std::fflush(stdout);
  if (!options.tls && !local.address().is_loopback()) {
    std::fprintf(stderr,
                 "warning: listening on %s, which is not a loopback address, without TLS: "
                 "requests, answers and bearer tokens travel unencrypted (give --tls-cert and "
                 "--tls-key)\n",
                 where.c_str());
  }
  listener.Accept();

  net::steady_timer poll(ioc);
  std::function<void(beast::error_code)> check = [&](beast::error_code) {
    if (!stop_requested()) {
      poll.expires_after(std::chrono::milliseconds(50));
      poll.async_wait(check);
      return;
    }
    shared.draining = true;
    listener.Stop();
    std::lock_guard<std::mutex> lock(shared.mu);
    for (const auto& w : shared.sessions) {
      if (auto s = w.lock()) s->Drain();
    }
  };
  poll.expires_after(std::chrono::milliseconds(50));
  poll.async_wait(check);

  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return Status::Ok();
}

}  // namespace ecps::serve
