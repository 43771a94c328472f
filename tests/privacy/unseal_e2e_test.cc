// `ecps unseal` and `ecps seal` through the real binary: a sealed k-means assignments.csv opens
// to the plain run's bytes (to a file or standard output); a wrong key, a changed byte and a
// plain file exit 2 naming the file and write nothing; seal then unseal gives the file back.
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

class Unseal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("unseal_e2e");
    key_ = dir_ / "key1";
    key2_ = dir_ / "key2";
    std::string csv = "user_id,x,y\n";
    for (int i = 0; i < 24; ++i) csv += fmt::format("u{:02},{},{}\n", i, i % 3 * 10 + i % 2, i % 4);
    WriteBytes(dir_ / "users.csv", csv);
    WriteBytes(key_, "first test key, 32 bytes long..");
    WriteBytes(key2_, "second test key, 32 bytes long.");
    ::chmod(key_.c_str(), 0600);
    ::chmod(key2_.c_str(), 0600);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // `ecps train kmeans` of users.csv into `out` with `extra` options.
  void KMeans(const fs::path& out, const std::string& extra) {
    const auto r = RunEcps(fmt::format(
        "train kmeans --local --workers 1 --data '{}' --id-column user_id --features x,y --k 2 "
        "--seed 3 --out '{}' {}",
        (dir_ / "users.csv").string(), out.string(), extra));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // `ecps unseal --key key --in in` with `extra` options; standard output in `*out` if given.
  EcpsRun UnsealFile(const fs::path& key, const fs::path& in, const std::string& extra,
                     std::string* out = nullptr) {
    return RunEcps(fmt::format("unseal --key '{}' --in '{}' {}", key.string(), in.string(), extra),
                   out);
  }

  fs::path dir_;
  fs::path key_, key2_;
};

TEST_F(Unseal, SealedAssignmentsOpenToThePlainRunsBytes) {
  const auto plain = dir_ / "plain", sealed = dir_ / "sealed", out = dir_ / "opened.csv";
  KMeans(plain, "");
  KMeans(sealed, fmt::format("--encrypt-key '{}'", key_.string()));
  const std::string want = ReadBytes(plain / "assignments.csv");
  ASSERT_FALSE(want.empty());
  ASSERT_NE(ReadBytes(sealed / "assignments.csv"), want);

  const auto to_file =
      UnsealFile(key_, sealed / "assignments.csv", fmt::format("--out '{}'", out.string()));
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(ReadBytes(out), want);

  std::string stdout_bytes;
  const auto to_stdout = UnsealFile(key_, sealed / "assignments.csv", "", &stdout_bytes);
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(stdout_bytes, want);
  const auto dash = UnsealFile(key_, sealed / "model.bin", "--out -", &stdout_bytes);
  ASSERT_EQ(dash.exit_code, 0) << dash.err;
  EXPECT_EQ(stdout_bytes, ReadBytes(plain / "model.bin"));
}

TEST_F(Unseal, AWrongKeyAChangedByteOrAPlainFileIsRefusedAndNothingIsWritten) {
  const auto sealed = dir_ / "sealed", out = dir_ / "opened.csv";
  KMeans(sealed, fmt::format("--encrypt-key '{}'", key_.string()));
  const auto file = sealed / "assignments.csv";
  const std::string o = fmt::format("--out '{}'", out.string());

  const auto wrong = UnsealFile(key2_, file, o);
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("wrong key, or the file was modified"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find(file.string()), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(out));

  std::string bytes = ReadBytes(file);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  const auto flipped_file = dir_ / "assignments.csv";  // same base name: the label still holds
  WriteBytes(flipped_file, bytes);
  const auto flipped = UnsealFile(key_, flipped_file, o);
  EXPECT_EQ(flipped.exit_code, 2);
  EXPECT_NE(flipped.err.find("wrong key, or the file was modified"), std::string::npos)
      << flipped.err;
  EXPECT_FALSE(fs::exists(out));

  KMeans(dir_ / "plain", "");
  const auto plain_file = dir_ / "plain" / "assignments.csv";
  const auto plain = UnsealFile(key_, plain_file, o);
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_NE(plain.err.find(plain_file.string() + ": not an ecps sealed file"), std::string::npos)
      << plain.err;
  EXPECT_FALSE(fs::exists(out));

  ::chmod(key_.c_str(), 0644);
  const auto open_key = UnsealFile(key_, file, o);
  EXPECT_EQ(open_key.exit_code, 2);
  EXPECT_NE(open_key.err.find("chmod 600"), std::string::npos) << open_key.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Unseal, ARenamedFileOpensWithItsOriginalNameAsLabel) {
  const auto sealed = dir_ / "sealed";
  KMeans(sealed, fmt::format("--encrypt-key '{}'", key_.string()));
  const auto renamed = dir_ / "mine.csv";
  fs::copy_file(sealed / "assignments.csv", renamed);
  const auto refused = UnsealFile(key_, renamed, "");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--label"), std::string::npos) << refused.err;
  std::string opened;
  const auto ok = UnsealFile(key_, renamed, "--label assignments.csv", &opened);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(opened.find("u00"), std::string::npos) << opened;
}

TEST_F(Unseal, SealThenUnsealGivesTheFileBack) {
  const std::string plain = "a,b\n1,\"two\"\n";
  WriteBytes(dir_ / "p.csv", plain);
  const auto sealed = dir_ / "s.csv";
  const auto seal = RunEcps(fmt::format("seal --key '{}' --in '{}' --out '{}'", key_.string(),
                                        (dir_ / "p.csv").string(), sealed.string()));
  ASSERT_EQ(seal.exit_code, 0) << seal.err;
  EXPECT_EQ(ReadBytes(sealed).substr(0, 8), "ECPSSEAL");
  EXPECT_EQ(ReadBytes(sealed).find("two"), std::string::npos);
  std::string opened;
  const auto r = UnsealFile(key_, sealed, "", &opened);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(opened, plain);
  const auto twice = RunEcps(fmt::format("seal --key '{}' --in '{}' --out '{}'", key_.string(),
                                         sealed.string(), (dir_ / "s2.csv").string()));
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("already an ecps sealed file"), std::string::npos) << twice.err;
  const auto to_stdout = RunEcps(fmt::format("seal --key '{}' --in '{}' --out -", key_.string(),
                                             (dir_ / "p.csv").string()));
  EXPECT_EQ(to_stdout.exit_code, 2);
  EXPECT_NE(to_stdout.err.find("--out"), std::string::npos) << to_stdout.err;
}

}  // namespace
}  // namespace ecps::testing
