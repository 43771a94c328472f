#include "privacy/sealed.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <limits>
#include <memory>

#include "privacy/key_file.h"

namespace ecps::privacy {
namespace {

constexpr std::string_view kMagic = "ECPSSEAL";
constexpr unsigned char kVersion = 1;
constexpr std::size_t kNonceBytes = 12, kTagBytes = 16;
constexpr std::size_t kHeaderBytes = kMagic.size() + 1 + kNonceBytes;
static_assert(kSealOverhead == kHeaderBytes + kTagBytes);

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool FitsInt(std::size_t n) { return n <= static_cast<std::size_t>(std::numeric_limits<int>::max()); }

}  // namespace

EncryptionKey EncryptionKey::FromSecret(std::string_view secret) {
  constexpr std::string_view kDomain = "ecps file encryption key v1";
  EncryptionKey key;
  unsigned int length = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(md.get(), kDomain.data(), kDomain.size()) != 1 ||
      EVP_DigestUpdate(md.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(md.get(), key.bytes_.data(), &length) != 1 || length != key.bytes_.size()) {
    std::abort();  // SHA-256 is always there; a libcrypto that fails it cannot protect anything
  }
  return key;
}

Result<EncryptionKey> EncryptionKey::Load(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(std::string secret, ReadSecretKeyFile(path));
  return FromSecret(secret);
}

bool LooksSealed(std::string_view data) { return data.substr(0, kMagic.size()) == kMagic; }

Result<std::string> Seal(const EncryptionKey& key, std::string_view plaintext, std::string_view label) {
  if (!FitsInt(plaintext.size()) || !FitsInt(label.size())) {
    return InvalidArgument("seal: more than 2 GiB in one file");
  }
  std::string out(kHeaderBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::memcpy(o, kMagic.data(), kMagic.size());
  o[kMagic.size()] = kVersion;
  unsigned char* nonce = o + kMagic.size() + 1;
  if (RAND_bytes(nonce, static_cast<int>(kNonceBytes)) != 1) return Internal("seal: no random nonce");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes().data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, o, static_cast<int>(kHeaderBytes)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, Bytes(label), static_cast<int>(label.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kHeaderBytes, &n, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kHeaderBytes + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          o + kHeaderBytes + plaintext.size()) != 1) {
    return Internal("seal: AES-256-GCM failed");
  }
  return out;
}

Result<std::string> Open(const EncryptionKey& key, std::string_view sealed, std::string_view label) {
  if (!LooksSealed(sealed) || sealed.size() < kSealOverhead) {
    return DataError("not an ecps sealed file (written without --encrypt-key?)");
  }
  if (static_cast<unsigned char>(sealed[kMagic.size()]) != kVersion) {
    return DataError("sealed file of an unknown format version");
  }
  const std::size_t length = sealed.size() - kSealOverhead;
  if (!FitsInt(length) || !FitsInt(label.size())) return DataError("sealed file larger than 2 GiB");
  const unsigned char* in = Bytes(sealed);
  std::string out(length, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::array<unsigned char, kTagBytes> tag{};
  std::memcpy(tag.data(), in + kHeaderBytes + length, kTagBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0;
  const bool setup =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes().data(),
                                in + kMagic.size() + 1) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, in, static_cast<int>(kHeaderBytes)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, Bytes(label), static_cast<int>(label.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), o, &n, in + kHeaderBytes, static_cast<int>(length)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1;
  if (!setup) return Internal("open: AES-256-GCM failed");
  if (EVP_DecryptFinal_ex(ctx.get(), o + n, &n) != 1) {
    return DataError("wrong key, or the file was modified");
  }
  return out;
}

}  // namespace ecps::privacy
