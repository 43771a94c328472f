// Authenticated encryption of whole files (AES-256-GCM, OpenSSL libcrypto): what
// `--encrypt-key` writes and what the readers of models and outputs open.
//
// A sealed file is: "ECPSSEAL" (8 bytes), format version 1 (1 byte), a random 96-bit nonce
// (12 bytes), the ciphertext (as long as the plaintext), and the 128-bit GCM tag. The header
// and a caller's label (e.g. the file's name) are authenticated with the data, so a modified
// byte anywhere, a wrong key, or a file sealed under another label is refused, never read.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "ps/status.h"

namespace ecps::privacy {

/// A 256-bit AES key.
class EncryptionKey {
 public:
  /// The key derived from a key file's contents (SHA-256 of a domain-separation prefix and
  /// the contents; at least 16 bytes of secret are expected, which the caller checks).
  static EncryptionKey FromSecret(std::string_view secret);
  /// The key from the key file `path`, read with ReadSecretKeyFile (privacy/key_file.h) and
  /// its refusals (missing, not a regular file, not owner-only, shorter than 16 bytes).
  static Result<EncryptionKey> Load(const std::string& path);
  const std::array<unsigned char, 32>& bytes() const { return bytes_; }

 private:
  std::array<unsigned char, 32> bytes_{};
};

/// Bytes a sealed file adds to its plaintext (header and tag).
inline constexpr std::size_t kSealOverhead = 8 + 1 + 12 + 16;

/// Whether `data` starts like a sealed file (the magic only: says nothing about the key).
bool LooksSealed(std::string_view data);

/// Encrypts and authenticates `plaintext` under `key`, binding `label`.
Result<std::string> Seal(const EncryptionKey& key, std::string_view plaintext, std::string_view label);

/// The plaintext of `sealed`; a DataError "not an ecps sealed file" for other bytes, and
/// "wrong key, or the file was modified" when authentication fails (the two cannot be told
/// apart, by design of GCM).
Result<std::string> Open(const EncryptionKey& key, std::string_view sealed, std::string_view label);

}  // namespace ecps::privacy
