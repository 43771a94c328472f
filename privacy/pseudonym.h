// Pseudonymised user ids and opt-outs: a secret key file, the keyed hash that replaces ids
// as they are read (HMAC-SHA-256, OpenSSL libcrypto), and the filter that readers apply to
// every id (pseudonymise, then drop the users who opted out).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "privacy/key_file.h"
#include "ps/status.h"

namespace ecps::privacy {

/// Hex characters of a pseudonym: the first 16 bytes (128 bits) of the HMAC. Among n = 10^9
/// ids the chance that two share a pseudonym is about n^2 / 2^129 = 1.5e-21 (birthday bound).
inline constexpr std::size_t kPseudonymChars = 32;

/// A secret HMAC key: the whole content of a key file (any bytes, line ending included), with
/// the SHA-256 states after its inner and outer pad blocks, so that each id costs only its
/// own hashing. Copies share those states (read-only, safe across threads).
class PseudonymKey {
 public:
  /// Reads `path` through ReadSecretKeyFile (privacy/key_file.h), with its refusals.
  static Result<PseudonymKey> Load(const std::string& path);
  /// A key from bytes (tests); refused when shorter than kMinKeyBytes unless `allow_short`.
  static Result<PseudonymKey> FromBytes(std::string bytes, bool allow_short = false);

  const std::string& bytes() const { return bytes_; }
  /// HMAC-SHA-256(key, data), 32 raw bytes, from the precomputed pad states.
  std::string Mac(std::string_view data) const;

  struct PadStates;  // privacy/pseudonym.cc

 private:
  explicit PseudonymKey(std::string bytes);
  std::string bytes_;
  std::shared_ptr<const PadStates> pads_;
};

/// HMAC-SHA-256 of `data` under `key` (32 raw bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

/// The pseudonym of `id`: the first kPseudonymChars lower-case hex characters of
/// HMAC-SHA-256(key, id). A function of the key and the id bytes only (the same on every run,
/// file, rank and platform). Thread-safe.
std::string Pseudonymize(const PseudonymKey& key, std::string_view id);

/// What readers do with each user id: replace it by its pseudonym (with a key) and drop the
/// rows of users who opted out. Immutable after Load, so ranks and threads may share one.
class IdFilter {
 public:
  /// `key_path` (may be empty: ids stay as they are) and `exclude_path` (may be empty: nobody
  /// is excluded; else one id per line, line endings and surrounding spaces trimmed, blank
  /// lines ignored, pseudonymised with the key when there is one, so it may list raw ids).
  static Result<std::shared_ptr<const IdFilter>> Load(const std::string& key_path,
                                                      const std::string& exclude_path);
  /// The same from a loaded key (or none) and a set of raw ids (tests).
  static std::shared_ptr<const IdFilter> Make(std::unique_ptr<PseudonymKey> key,
                                              const std::unordered_set<std::string>& excluded);

  /// Writes the id that ecps keeps for `raw` into *out (its pseudonym, or `raw`) and returns
  /// false when that user opted out (the row is to be dropped).
  bool Map(std::string_view raw, std::string* out) const;
  bool pseudonymizes() const { return key_ != nullptr; }
  /// Distinct ids in the exclusion file.
  std::size_t excluded_ids() const { return excluded_.size(); }

 private:
  std::unique_ptr<PseudonymKey> key_;
  std::unordered_set<std::string> excluded_;  // as Map writes them
};

}  // namespace ecps::privacy
