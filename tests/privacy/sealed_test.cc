// Sealed files: the round trip, and every way a wrong key or a changed byte must be refused.
#include "privacy/sealed.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace ecps::privacy {
namespace {

const EncryptionKey kKey = EncryptionKey::FromSecret("0123456789abcdef-the-shop-secret");

TEST(Sealed, RoundTripsAnyBytes) {
  for (const std::string& plain :
       {std::string(), std::string("u1,3\nu2,0\n\xff\x01"), std::string(100000, '\0')}) {
    auto sealed = Seal(kKey, plain, "assignments.csv");
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(sealed->size(), plain.size() + kSealOverhead);
    EXPECT_TRUE(LooksSealed(*sealed));
    EXPECT_EQ(sealed->find("u1,3"), std::string::npos);
    auto opened = Open(kKey, *sealed, "assignments.csv");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(Sealed, EachSealUsesAFreshNonce) {
  auto a = Seal(kKey, "same", "x"), b = Seal(kKey, "same", "x");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(Sealed, AWrongKeyIsRefused) {
  auto sealed = Seal(kKey, "weights", "model.bin");
  ASSERT_TRUE(sealed.ok());
  auto opened = Open(EncryptionKey::FromSecret("0123456789abcdef-the-shop-secreT"), *sealed, "model.bin");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataError);
  EXPECT_NE(opened.status().message().find("wrong key, or the file was modified"), std::string::npos);
}

TEST(Sealed, EveryFlippedByteIsRefused) {
  auto sealed = Seal(kKey, "user,segment\nu1,2\n", "assignments.csv");
  ASSERT_TRUE(sealed.ok());
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bad = *sealed;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      EXPECT_FALSE(Open(kKey, bad, "assignments.csv").ok()) << "byte " << i << " bit " << int(bit);
    }
  }
}

TEST(Sealed, AnotherLabelATruncationAndPlainBytesAreRefused) {
  auto sealed = Seal(kKey, "weights", "model.bin");
  ASSERT_TRUE(sealed.ok());
  EXPECT_FALSE(Open(kKey, *sealed, "assignments.csv").ok());
  EXPECT_FALSE(Open(kKey, sealed->substr(0, sealed->size() - 1), "model.bin").ok());
  EXPECT_FALSE(Open(kKey, sealed->substr(0, 20), "model.bin").ok());
  auto plain = Open(kKey, "user,segment\n", "assignments.csv");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("not an ecps sealed file"), std::string::npos);
}

TEST(EncryptionKey, LoadsAnOwnerOnlyKeyFileAndRefusesOthers) {
  const auto dir = std::filesystem::temp_directory_path() / ("ecps_seal_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "key").string();
  std::ofstream(path) << "0123456789abcdef-the-shop-secret";
  ::chmod(path.c_str(), 0600);
  auto key = EncryptionKey::Load(path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->bytes(), kKey.bytes());
  ::chmod(path.c_str(), 0640);
  auto shared = EncryptionKey::Load(path);
  ASSERT_FALSE(shared.ok());
  EXPECT_NE(shared.status().message().find("chmod 600"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ecps::privacy
