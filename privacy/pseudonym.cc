#include "privacy/pseudonym.h"

#include <sys/stat.h>

#include <fstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace ecps::privacy {
namespace {

// `s` without spaces, tabs and carriage returns at either end.
std::string_view TrimId(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

constexpr std::size_t kBlock = 64;  // SHA-256's block size

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

MdCtx NewCtx() { return MdCtx(EVP_MD_CTX_new(), &EVP_MD_CTX_free); }

std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr)) return {};
  return std::string(reinterpret_cast<const char*>(digest), len);
}

// A SHA-256 context that has absorbed one 64-byte block: the key padded, xor `pad`.
MdCtx PadState(const std::string& block_key, unsigned char pad) {
  unsigned char block[kBlock];
  for (std::size_t i = 0; i < kBlock; ++i) {
    block[i] = static_cast<unsigned char>((i < block_key.size() ? block_key[i] : 0) ^ pad);
  }
  MdCtx ctx = NewCtx();
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) ||
      !EVP_DigestUpdate(ctx.get(), block, kBlock)) {
    return MdCtx(nullptr, &EVP_MD_CTX_free);
  }
  return ctx;
}

// SHA-256 of `data` continued from `state` (copied into this thread's scratch context).
bool Continue(const EVP_MD_CTX* state, const void* data, std::size_t size, unsigned char* digest) {
  thread_local MdCtx scratch = NewCtx();
  unsigned int len = 0;
  return scratch && EVP_MD_CTX_copy_ex(scratch.get(), state) &&
         EVP_DigestUpdate(scratch.get(), data, size) &&
         EVP_DigestFinal_ex(scratch.get(), digest, &len);
}

}  // namespace

struct PseudonymKey::PadStates {
  MdCtx inner = MdCtx(nullptr, &EVP_MD_CTX_free);
  MdCtx outer = MdCtx(nullptr, &EVP_MD_CTX_free);
};

PseudonymKey::PseudonymKey(std::string bytes) : bytes_(std::move(bytes)) {
  // RFC 2104: a key longer than a block is hashed first.
  const std::string block_key = bytes_.size() > kBlock ? Sha256(bytes_) : bytes_;
  auto pads = std::make_shared<PadStates>();
  pads->inner = PadState(block_key, 0x36);
  pads->outer = PadState(block_key, 0x5c);
  pads_ = std::move(pads);
}

std::string PseudonymKey::Mac(std::string_view data) const {
  unsigned char inner[32], mac[32];
  if (!pads_->inner || !pads_->outer || !Continue(pads_->inner.get(), data.data(), data.size(), inner) ||
      !Continue(pads_->outer.get(), inner, sizeof inner, mac)) {
    return HmacSha256(bytes_, data);  // only when OpenSSL fails to allocate: the one-shot path
  }
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

Result<PseudonymKey> PseudonymKey::Load(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(std::string bytes, ReadSecretKeyFile(path));
  return PseudonymKey(std::move(bytes));
}

Result<PseudonymKey> PseudonymKey::FromBytes(std::string bytes, bool allow_short) {
  if (!allow_short && bytes.size() < kMinKeyBytes) {
    return InvalidArgument(fmt::format("a key needs at least {} bytes", kMinKeyBytes));
  }
  return PseudonymKey(std::move(bytes));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key is passed as a valid pointer: HMAC() takes a null key as "reuse the last one".
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  const auto* d = reinterpret_cast<const unsigned char*>(data.empty() ? "" : data.data());
  if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), mac, &len)) {
    return {};  // only on allocation failure inside OpenSSL
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string Pseudonymize(const PseudonymKey& key, std::string_view id) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string mac = key.Mac(id);
  std::string out;
  out.reserve(kPseudonymChars);
  for (std::size_t i = 0; i < kPseudonymChars / 2 && i < mac.size(); ++i) {
    const auto b = static_cast<unsigned char>(mac[i]);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<std::shared_ptr<const IdFilter>> IdFilter::Load(const std::string& key_path,
                                                       const std::string& exclude_path) {
  std::unique_ptr<PseudonymKey> key;
  if (!key_path.empty()) {
    ECPS_ASSIGN_OR_RETURN(auto k, PseudonymKey::Load(key_path));
    key = std::make_unique<PseudonymKey>(std::move(k));
  }
  std::unordered_set<std::string> excluded;
  if (!exclude_path.empty()) {
    struct stat st {};
    if (::stat(exclude_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return InvalidArgument(fmt::format("exclusion file {}: not a readable file", exclude_path));
    }
    std::ifstream in(exclude_path);
    if (!in) return InvalidArgument(fmt::format("exclusion file {}: cannot open", exclude_path));
    std::string line;
    while (std::getline(in, line)) {
      const auto id = TrimId(line);
      if (!id.empty()) excluded.emplace(id);
    }
    if (in.bad()) return InvalidArgument(fmt::format("exclusion file {}: read error", exclude_path));
  }
  return Make(std::move(key), excluded);
}

std::shared_ptr<const IdFilter> IdFilter::Make(std::unique_ptr<PseudonymKey> key,
                                               const std::unordered_set<std::string>& excluded) {
  auto f = std::make_shared<IdFilter>();
  f->key_ = std::move(key);
  for (const auto& id : excluded) f->excluded_.insert(f->key_ ? Pseudonymize(*f->key_, id) : id);
  return f;
}

bool IdFilter::Map(std::string_view raw, std::string* out) const {
  if (key_) {
    *out = Pseudonymize(*key_, raw);
  } else {
    out->assign(raw);
  }
  return excluded_.empty() || !excluded_.contains(*out);
}

}  // namespace ecps::privacy
