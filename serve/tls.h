// TLS of `ecps serve` (--tls-cert, --tls-key): the server's OpenSSL context, made and checked
// before the server listens.
#pragma once

#include <memory>
#include <string>

#include "ps/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace ecps::serve {

/// A TLS server context holding the PEM certificate (chain) `cert_path` and the PEM private key
/// `key_path`; TLS 1.2 and 1.3 only, no compression, no renegotiation. Refused
/// (kInvalidArgument, naming the file and the option): an unreadable certificate file or one
/// without a PEM certificate; a key file its group or others may access (privacy::
/// ReadOwnerOnlyFile: the message says `chmod 600`), one without an unencrypted PEM private
/// key, and a key that does not belong to the certificate.
Result<std::shared_ptr<boost::asio::ssl::context>> LoadTlsContext(const std::string& cert_path,
                                                                  const std::string& key_path);

}  // namespace ecps::serve
