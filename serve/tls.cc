#include "serve/tls.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "privacy/key_file.h"

namespace ecps::serve {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> LoadTlsContext(const std::string& cert_path,
                                                     const std::string& key_path) {
  std::error_code fec;
  if (!std::filesystem::is_regular_file(cert_path, fec)) {
    return InvalidArgument(fmt::format("--tls-cert {}: {}", cert_path,
                                       fec ? fec.message() : "not a regular file"));
  }
  std::ifstream in(cert_path, std::ios::binary);
  std::stringstream cert;
  cert << in.rdbuf();
  if (!in) return InvalidArgument(fmt::format("--tls-cert {}: cannot read it", cert_path));
  ECPS_ASSIGN_OR_RETURN(std::string key, privacy::ReadOwnerOnlyFile(key_path, "--tls-key file"));

  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An encrypted key is refused rather than asking for a passphrase on the terminal.
  ctx->set_password_callback([](std::size_t, ssl::context::password_purpose) { return ""; });
  boost::system::error_code ec;
  const std::string cert_pem = cert.str();
  // The key first: the certificate set after it is checked by SSL_CTX_check_private_key
  // below, which names a mismatch as such.
  ctx->use_private_key(boost::asio::buffer(key), ssl::context::pem, ec);
  OPENSSL_cleanse(key.data(), key.size());
  if (ec) {
    return InvalidArgument(fmt::format(
        "--tls-key {}: not an unencrypted PEM private key ({})", key_path, ec.message()));
  }
  ctx->use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (ec) {
    return InvalidArgument(
        fmt::format("--tls-cert {}: not a PEM certificate ({})", cert_path, ec.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return InvalidArgument(fmt::format("--tls-key {}: not the key of the certificate in {}",
                                       key_path, cert_path));
  }
  return ctx;
}

}  // namespace ecps::serve
