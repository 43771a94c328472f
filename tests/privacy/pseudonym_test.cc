// Pseudonyms: HMAC-SHA-256 against RFC 4231, stability and key dependence, key-file checks,
// and the reader's filter (pseudonymise, then drop opted-out users).
#include "privacy/pseudonym.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace ecps::privacy {
namespace {

namespace fs = std::filesystem;

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// A fresh file with `content` and mode `mode` in a per-test folder.
class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ecps_pseudonym_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const auto p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
  fs::path dir_;
};

TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, Rfc4231Case1) {
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Pseudonymize, FixedWidthPrefixOfTheHmac) {
  const auto key = PseudonymKey::FromBytes("Jefe", /*allow_short=*/true).value();
  const std::string p = Pseudonymize(key, "what do ya want for nothing?");
  EXPECT_EQ(p, "5bdcc146bf60754e6a042426089575c7");
  EXPECT_EQ(p.size(), kPseudonymChars);
  EXPECT_EQ(Pseudonymize(key, "").size(), kPseudonymChars);
}

TEST(Pseudonymize, SameKeySameIdDifferentKeyDifferent) {
  const auto a = PseudonymKey::FromBytes("0123456789abcdef0123").value();
  const auto a2 = PseudonymKey::FromBytes("0123456789abcdef0123").value();
  const auto b = PseudonymKey::FromBytes("0123456789abcdef0124").value();
  EXPECT_EQ(Pseudonymize(a, "user42"), Pseudonymize(a2, "user42"));
  EXPECT_NE(Pseudonymize(a, "user42"), Pseudonymize(b, "user42"));
  EXPECT_NE(Pseudonymize(a, "user42"), Pseudonymize(a, "user43"));
}

TEST(Pseudonymize, PrecomputedPadsMatchOneShotHmacForShortAndLongKeys) {
  // RFC 4231 case 6: a 131-byte key (longer than a block: hashed first).
  const auto long_key = PseudonymKey::FromBytes(std::string(131, '\xaa')).value();
  EXPECT_EQ(Hex(long_key.Mac("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  for (const std::size_t size : {16, 63, 64, 65, 200}) {
    const auto key = PseudonymKey::FromBytes(std::string(size, 'k')).value();
    for (const char* id : {"", "u1", "a longer id with spaces, commas and \"quotes\""}) {
      EXPECT_EQ(key.Mac(id), HmacSha256(key.bytes(), id)) << size << " " << id;
      EXPECT_EQ(Pseudonymize(key, id), Hex(HmacSha256(key.bytes(), id)).substr(0, kPseudonymChars));
    }
  }
}

TEST(PseudonymKey, RefusesShortKeys) {
  EXPECT_FALSE(PseudonymKey::FromBytes("short").ok());
}

TEST_F(KeyFiles, LoadsAPrivateKey) {
  const auto path = Write("key", "0123456789abcdef", 0600);
  auto key = PseudonymKey::Load(path);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->bytes(), "0123456789abcdef");
}

TEST_F(KeyFiles, RefusesGroupOrWorldReadable) {
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    const auto path = Write("key", "0123456789abcdef0123456789abcdef", mode);
    auto key = PseudonymKey::Load(path);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_NE(key.status().message().find(path), std::string::npos);
    EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos);
  }
}

TEST_F(KeyFiles, RefusesEmptyShortMissingAndDirectory) {
  EXPECT_FALSE(PseudonymKey::Load(Write("empty", "", 0600)).ok());
  auto s = PseudonymKey::Load(Write("short", "123456789012345", 0600));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("at least 16"), std::string::npos);
  EXPECT_FALSE(PseudonymKey::Load((dir_ / "missing").string()).ok());
  fs::create_directories(dir_ / "sub");
  ::chmod((dir_ / "sub").c_str(), 0700);
  auto d = PseudonymKey::Load((dir_ / "sub").string());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("regular file"), std::string::npos);
}

TEST_F(KeyFiles, FilterPseudonymisesAndExcludesRawIdsFromTheFile) {
  const auto key = Write("key", "0123456789abcdef", 0600);
  const auto out = Write("out", " u2 \r\n\nu3\n", 0600);
  auto f = IdFilter::Load(key, out);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE((*f)->pseudonymizes());
  EXPECT_EQ((*f)->excluded_ids(), 2u);
  const auto k = PseudonymKey::FromBytes("0123456789abcdef").value();
  std::string id;
  EXPECT_TRUE((*f)->Map("u1", &id));
  EXPECT_EQ(id, Pseudonymize(k, "u1"));
  EXPECT_FALSE((*f)->Map("u2", &id));
  EXPECT_FALSE((*f)->Map("u3", &id));
}

TEST_F(KeyFiles, FilterWithoutKeyKeepsIds) {
  auto f = IdFilter::Load("", Write("out", "u2\n", 0644));
  ASSERT_TRUE(f.ok());
  std::string id;
  EXPECT_TRUE((*f)->Map("u1", &id));
  EXPECT_EQ(id, "u1");
  EXPECT_FALSE((*f)->Map("u2", &id));
  EXPECT_FALSE(IdFilter::Load("", (dir_ / "missing").string()).ok());
}

}  // namespace
}  // namespace ecps::privacy
