// `ecps serve` with TLS (a certificate made in the test by the openssl command), bearer tokens
// over TLS, refused certificates and keys, the warning for an unencrypted non-loopback address,
// and the header and body timeouts against slow clients.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/background.h"
#include "tests/common/run_ecps.h"
#include "tests/serve/serve_client.h"

namespace ecps::testing {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A libsvm lr model trained in the test (folder imp) and the lines it scores.
class SecureServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(fs::temp_directory_path(), fmt::format("ecps_serve_secure_{}", getpid()));
    const std::string d = dir_.string();
    ASSERT_EQ(RunEcps(fmt::format("generate --out {}/data --users 100 --items 20 "
                                  "--impressions-per-user 3",
                                  d))
                  .exit_code,
              0);
    const EcpsRun r = RunEcps(fmt::format(
        "train lr --local -q --train {0}/data/impressions.libsvm --hash-bits 8 --out {0}/imp", d));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = Lines(Slurp(dir_ / "data/impressions_test.libsvm"));
    ASSERT_GE(lines.size(), 8u);
    std::string file;
    body_ = "{\"instances\": [";
    for (std::size_t i = 0; i < 8; ++i) {
      body_ += fmt::format("{}\"{}\"", i ? ", " : "", lines[i]);
      file += lines[i] + "\n";
    }
    body_ += "]}";
    { std::ofstream(dir_ / "in.libsvm") << file; }
    expected_ = PredictScores(
        Capture(fmt::format("predict --model {0}/imp --data {0}/in.libsvm --out -", d)),
        "probability", 1);
    ASSERT_EQ(expected_.size(), 8u);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A self-signed certificate for 127.0.0.1 and its key (cert.pem, key.pem, mode 600), made
  // by the openssl command; false when it failed.
  bool MakeCertificate(const std::string& name = "") {
    const int rc = std::system(
        fmt::format("cd '{0}' && /usr/bin/openssl req -x509 -newkey ec -pkeyopt "
                    "ec_paramgen_curve:prime256v1 -nodes -keyout key{1}.pem -out cert{1}.pem "
                    "-days 2 -subj /CN=localhost -addext "
                    "'subjectAltName=IP:127.0.0.1,DNS:localhost' 2>/dev/null",
                    dir_.string(), name)
            .c_str());
    if (rc != 0) return false;
    fs::permissions(dir_ / fmt::format("key{}.pem", name),
                    fs::perms::owner_read | fs::perms::owner_write);
    return true;
  }

  // The probabilities in a :predict answer.
  static std::vector<std::string> Scores(const std::string& answer) {
    return Matches(answer, "([-+0-9.e]+)(?:, |\\])");
  }

  fs::path dir_;
  std::string body_;
  std::vector<std::string> expected_;
};

#define SKIP_WITHOUT_OPENSSL()                                                      \
  if (!fs::exists("/usr/bin/openssl"))                                              \
  GTEST_SKIP() << "/usr/bin/openssl is missing: no test certificate can be made " \
                  "(apt-get install openssl)"

TEST_F(SecureServeTest, TlsAnswersLikePlainHttpAndRefusesPlainHttpOnItsPort) {
  SKIP_WITHOUT_OPENSSL();
  ASSERT_TRUE(MakeCertificate());
  const std::string d = dir_.string();
  { std::ofstream(dir_ / "tokens") << "score-5a1\nadmin-0b7\n"; }
  fs::permissions(dir_ / "tokens", fs::perms::owner_read | fs::perms::owner_write);
  Background server(fmt::format("{0} serve --port 0 --threads 2 --header-timeout 2 --model "
                                "imp={1}/imp --tls-cert {1}/cert.pem --tls-key {1}/key.pem "
                                "--token-file {1}/tokens",
                                ECPS_BINARY, d),
                    dir_ / "serve.log");
  const int port = ListeningPort(server);
  ASSERT_NE(port, 0);
  EXPECT_TRUE(server.WaitForLog(fmt::format("TLS 1.2/1.3 only: https://127.0.0.1:{}\n", port), 5))
      << server.log();
  HttpsClient client((dir_ / "cert.pem").string());
  const std::string target = "/v1/models/imp:predict";
  const std::string token = "Bearer score-5a1";

  // Scored over TLS as predict scores the same lines; tokens: 401 without or wrong, 200 with.
  const Answer a = client.Request(port, http::verb::post, target, body_, token);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(Scores(a.body), expected_) << a.body;
  EXPECT_EQ(client.Request(port, http::verb::post, target, body_).status, 401);
  EXPECT_EQ(client.Request(port, http::verb::post, target, body_, "Bearer score-5a2").status, 401);
  EXPECT_EQ(client.Request(port, http::verb::get, "/healthz").status, 200);
  EXPECT_EQ(client.Request(port, http::verb::post, "/v1/admin/reload", "", "Bearer admin-0b7")
                .status,
            200);

  // Keep-alive and pipelining over TLS: three requests written at once, answered in order.
  {
    net::io_context ioc;
    auto s = client.Connect(ioc, port);
    const std::string text = fmt::format(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST {0} HTTP/1.1\r\nHost: x\r\nAuthorization: {1}\r\nContent-Length: {2}\r\n\r\n{3}"
        "GET /v1/models/none HTTP/1.1\r\nHost: x\r\nAuthorization: {1}\r\n\r\n",
        target, token, body_.size(), body_);
    net::write(*s, net::buffer(text));
    beast::flat_buffer buf;
    std::vector<Answer> got;
    for (int i = 0; i < 3; ++i) {
      http::response<http::string_body> res;
      http::read(*s, buf, res);
      got.push_back({static_cast<int>(res.result_int()), res.body()});
    }
    EXPECT_EQ(got[0].body, "{\"status\": \"ok\"}\n");
    EXPECT_EQ(got[1].body, a.body);
    EXPECT_EQ(got[2].status, 404) << got[2].body;
  }

  // Plain HTTP on the TLS port: a plain 400 that says so, and the connection closed.
  const Answer plain = Http(port, http::verb::get, "/healthz");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(plain.body.find("speaks HTTPS"), std::string::npos) << plain.body;
  EXPECT_EQ(client.Request(port, http::verb::post, target, body_, token).body, a.body);

  // A client that offers TLS 1.1 at most is refused in the handshake; the same client allowed
  // TLS 1.2 gets through.
  const auto handshake = [&](int max_version) {
    ssl::context ctx(ssl::context::tls_client);
    SSL_CTX_set_security_level(ctx.native_handle(), 0);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT@SECLEVEL=0");
    net::io_context ioc;
    beast::ssl_stream<tcp::socket> s(ioc, ctx);
    s.next_layer().connect(Local(port));
    beast::error_code ec;
    s.handshake(ssl::stream_base::client, ec);
    return !ec;
  };
  EXPECT_FALSE(handshake(TLS1_1_VERSION)) << "TLS 1.1 is refused";
  EXPECT_TRUE(handshake(TLS1_2_VERSION));

  // Broken TLS clients: half a ClientHello, random bytes after a TLS record header, a client
  // gone in the middle of a request's header and of its body (after the handshake).
  std::mt19937_64 rng(1414);
  for (int i = 0; i < 200; ++i) {
    std::string bytes = i % 2 ? "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" : "\x16\x03\x03";
    bytes.resize(bytes.size() + rng() % 100);
    for (std::size_t j = 3 + 8 * (i % 2); j < bytes.size(); ++j)
      bytes[j] = static_cast<char>(rng());
    Raw(port, bytes, true);
  }
  for (const std::string& half :
       {std::string("POST /v1/models/imp:predict HTTP/1.1\r\nHost: x\r\nContent-Len"),
        fmt::format("POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: 90\r\n"
                    "\r\n{{\"inst",
                    target, token)}) {
    net::io_context ioc;
    auto s = client.Connect(ioc, port);
    net::write(*s, net::buffer(half));
    s->next_layer().close();
  }
  EXPECT_EQ(client.Request(port, http::verb::post, target, body_, token).body, a.body);

  // curl, as the README calls it.
  if (fs::exists("/usr/bin/curl")) {
    const std::string out = CommandOutput(
        fmt::format("/usr/bin/curl -s --cacert {}/cert.pem -H 'Authorization: {}' "
                    "https://127.0.0.1:{}{} -d '{}'",
                    d, token, port, target, body_));
    EXPECT_EQ(out, a.body);
  }
  EXPECT_EQ(server.log().find("warning"), std::string::npos) << server.log();
}

TEST_F(SecureServeTest, BadCertificatesAndKeysAreRefusedBeforeListening) {
  SKIP_WITHOUT_OPENSSL();
  ASSERT_TRUE(MakeCertificate());
  ASSERT_TRUE(MakeCertificate("2"));
  const std::string d = dir_.string();
  { std::ofstream(dir_ / "junk.pem") << "not a pem file\n"; }
  fs::permissions(dir_ / "junk.pem", fs::perms::owner_read | fs::perms::owner_write);
  fs::copy_file(dir_ / "key.pem", dir_ / "shared_key.pem");
  fs::permissions(dir_ / "shared_key.pem", fs::perms::group_read, fs::perm_options::add);
  struct Case {
    std::string args, says;
  };
  const std::vector<Case> cases = {
      {"--tls-cert {0}/cert.pem", "--tls-cert requires --tls-key"},
      {"--tls-key {0}/key.pem", "--tls-key requires --tls-cert"},
      {"--tls-cert {0}/none.pem --tls-key {0}/key.pem", "--tls-cert {0}/none.pem: No such file"},
      {"--tls-cert {0} --tls-key {0}/key.pem", "--tls-cert {0}: not a regular file"},
      {"--tls-cert {0}/junk.pem --tls-key {0}/key.pem",
       "--tls-cert {0}/junk.pem: not a PEM certificate"},
      {"--tls-cert {0}/cert.pem --tls-key {0}/none.pem", "{0}/none.pem: cannot open"},
      {"--tls-cert {0}/cert.pem --tls-key {0}/junk.pem",
       "--tls-key {0}/junk.pem: not an unencrypted PEM private key"},
      {"--tls-cert {0}/cert.pem --tls-key {0}/shared_key.pem", "chmod 600 {0}/shared_key.pem"},
      {"--tls-cert {0}/cert.pem --tls-key {0}/key2.pem",
       "--tls-key {0}/key2.pem: not the key of the certificate in {0}/cert.pem"},
      {"--header-timeout 0", "--header-timeout"},
  };
  for (const auto& c : cases) {
    const std::string args = fmt::format(fmt::runtime(c.args), d);
    const EcpsRun r = RunEcps(fmt::format("serve --port 0 --model imp={}/imp {}", d, args), 20);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(fmt::format(fmt::runtime(c.says), d)), std::string::npos)
        << args << "\n" << r.err;
  }
}

TEST_F(SecureServeTest, AnAddressThatIsNotLoopbackWithoutTlsIsWarnedAbout) {
  Background server(fmt::format("{} serve --port 0 --address 0.0.0.0 --model imp={}/imp",
                                ECPS_BINARY, dir_.string()),
                    dir_ / "serve.log");
  ASSERT_TRUE(server.WaitForLog("unencrypted", 30)) << server.log();
  EXPECT_TRUE(server.log().starts_with("listening on 0.0.0.0:")) << server.log();
  EXPECT_NE(server.log().find("warning: listening on 0.0.0.0:"), std::string::npos)
      << server.log();
}

// Connects to `port`, sends `first` at once and then `rest` one byte every `gap` seconds until
// the server closes the connection (or 10 s pass); returns the seconds from the connection to
// the close, and what came back in `*got`.
double SendSlowly(int port, const std::string& first, const std::string& rest, double gap,
                  std::string* got) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(Local(port));
  const auto start = Clock::now();
  std::atomic<bool> closed{false};
  double at = 0;
  std::thread reader([&] {
    char buf[4096];
    beast::error_code ec;
    while (!ec) {
      const std::size_t n = s.read_some(net::buffer(buf), ec);
      got->append(buf, ec ? 0 : n);
    }
    at = Since(start);
    closed = true;
  });
  beast::error_code ec;
  net::write(s, net::buffer(first), ec);
  for (std::size_t i = 0; !closed && Since(start) < 10; ++i) {
    if (i < rest.size()) net::write(s, net::buffer(&rest[i], 1), ec);
    std::this_thread::sleep_for(std::chrono::duration<double>(gap));
  }
  if (!closed) s.shutdown(tcp::socket::shutdown_both, ec);
  reader.join();
  return at;
}

TEST_F(SecureServeTest, HeaderTimeoutDropsSlowClientsAndReadTimeoutBoundsTheBody) {
  // One io thread, a header timeout of 1 s and a read timeout of 3 s.
  Background server(fmt::format("{} serve --port 0 --threads 1 --header-timeout 1 "
                                "--read-timeout 3 --model imp={}/imp",
                                ECPS_BINARY, dir_.string()),
                    dir_ / "serve.log");
  const int port = ListeningPort(server);
  ASSERT_NE(port, 0);
  const std::string target = "/v1/models/imp:predict";
  const std::string header = fmt::format(
      "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", target, body_.size());

  // A header sent a byte every 0.25 s (it would take 10 s) is dropped after about 1 s, long
  // before the read timeout; a body stopped halfway is dropped after about 3 s.
  std::string slow_header_got, slow_body_got;
  double slow_header_s = 0, slow_body_s = 0;
  std::thread slow_header([&] {
    slow_header_s = SendSlowly(port, "", header, 0.25, &slow_header_got);
  });
  std::thread slow_body([&] {
    slow_body_s =
        SendSlowly(port, header + body_.substr(0, body_.size() / 2), "", 0.1, &slow_body_got);
  });

  // Meanwhile other clients are answered at once, on the same single io thread.
  double slowest = 0;
  int answered = 0;
  const auto until = Clock::now() + std::chrono::milliseconds(1500);
  while (Clock::now() < until) {
    const auto t = Clock::now();
    const Answer a = Post(port, target, body_);
    slowest = std::max(slowest, Since(t));
    answered += a.status == 200 && Scores(a.body) == expected_;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(answered, 5);
  EXPECT_LT(slowest, 0.5) << "a slow client held up the others";

  // A body that takes longer than the header timeout but less than the read timeout is read.
  std::string got;
  const std::string closing = fmt::format(
      "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
      target, body_.size());
  const double took =
      SendSlowly(port, closing + body_.substr(0, 10), body_.substr(10), 1.5 / body_.size(), &got);
  EXPECT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
  EXPECT_EQ(Scores(got.substr(got.find("\r\n\r\n") + 4)), expected_) << got;
  EXPECT_GT(took, 1.0);

  slow_header.join();
  slow_body.join();
  EXPECT_EQ(slow_header_got, "");
  EXPECT_GT(slow_header_s, 0.8);
  EXPECT_LT(slow_header_s, 2.5) << "dropped by the header timeout (1 s), not later";
  EXPECT_EQ(slow_body_got, "");
  EXPECT_GT(slow_body_s, 2.5);
  EXPECT_LT(slow_body_s, 6.0);
}

}  // namespace
}  // namespace ecps::testing
