// Input formats end to end through the ecps binary: gzip files and standard input give the
// same models and outputs as the plain files; bad input is refused in words.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"
#include "tests/inputs/gz_test_util.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

class InputsE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = FreshDir("inputs_e2e");
    const auto gen = RunEcps(fmt::format("generate --out '{}' --users 300 --items 60 --seed 3",
                                         (dir_ / "gen").string()));
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    for (const char* name : {"impressions.libsvm", "users.csv", "interactions.csv"}) {
      // gzip named without .gz: the magic bytes decide
      WriteBytes(dir_ / (std::string(name) + ".z"), Gzip(ReadBytes(dir_ / "gen" / name)));
    }
  }
  static std::string P(const std::string& name) { return "'" + (dir_ / name).string() + "'"; }
  static std::string G(const std::string& name) { return P("gen/" + name); }
  static inline fs::path dir_;
};

TEST_F(InputsE2e, LrFromGzipAndFromStdinEqualsPlain) {
  std::string plain, gz, in;
  ASSERT_EQ(RunEcps("train lr --local -q --train " + G("impressions.libsvm") + " --out " + P("lr_plain")).exit_code, 0);
  auto r = RunEcps("train lr --local -q --train " + P("impressions.libsvm.z") + " --out " + P("lr_gz"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunEcps("train lr --local -q --train - --out " + P("lr_in") + " < " + P("impressions.libsvm.z"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string model = ReadBytes(dir_ / "lr_plain" / "model.bin");
  ASSERT_FALSE(model.empty());
  EXPECT_TRUE(ReadBytes(dir_ / "lr_gz" / "model.bin") == model);
  EXPECT_TRUE(ReadBytes(dir_ / "lr_in" / "model.bin") == model);
  // predict reads a pipe and standard input (gzip or not)
  ASSERT_EQ(RunEcps("predict --model " + P("lr_plain") + " --out - --data " + G("impressions.libsvm"), &plain).exit_code, 0);
  r = RunEcps("predict --model " + P("lr_plain") + " --out - --data - < " + P("impressions.libsvm.z"), &gz);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // a named pipe, as `--data <(...)` gives in bash
  const fs::path fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(std::system(("cat " + G("impressions.libsvm") + " > '" + fifo.string() + "' &").c_str()), 0);
  r = RunEcps("predict --model " + P("lr_plain") + " --out - --data " + P("pipe"), &in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(gz == plain);  // (not EXPECT_EQ: thousands of lines)
  EXPECT_TRUE(in == plain);
  EXPECT_GT(plain.size(), 1000u);
}

TEST_F(InputsE2e, KMeansAndSegmentAndItemCfFromGzipAndStdin) {
  const std::string km = "train kmeans --local -q -k 3 --seed 1 --id-column user_id "
                         "--features age,purchase_frequency,duration ";
  ASSERT_EQ(RunEcps(km + "--data " + G("users.csv") + " --out " + P("km_plain")).exit_code, 0);
  auto r = RunEcps(km + "--data - --out " + P("km_in") + " < " + P("users.csv.z"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadBytes(dir_ / "km_in" / "assignments.csv") ==
              ReadBytes(dir_ / "km_plain" / "assignments.csv"));
  r = RunEcps("segment --model " + P("km_plain") + " --data " + P("users.csv.z") + " --out " + P("seg.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadBytes(dir_ / "seg.csv").find("u000001,"), std::string::npos);

  const std::string cf = "train itemcf --local -q --seed 1 ";
  ASSERT_EQ(RunEcps(cf + "--train " + G("interactions.csv") + " --out " + P("cf_plain")).exit_code, 0);
  r = RunEcps(cf + "--train - --out " + P("cf_in") + " < " + P("interactions.csv.z"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadBytes(dir_ / "cf_in" / "recommendations.csv") ==
              ReadBytes(dir_ / "cf_plain" / "recommendations.csv"));
}

TEST_F(InputsE2e, CorruptGzipAndStdinMisuseAreRefusedInWords) {
  std::string gz = ReadBytes(dir_ / "users.csv.z");
  WriteBytes(dir_ / "cut.csv.gz", gz.substr(0, gz.size() / 2));
  auto r = RunEcps("train kmeans --local -q -k 2 --id-column user_id --features age --data " +
                  P("cut.csv.gz") + " --out " + P("km_cut"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cut.csv.gz: not a valid gzip stream (unexpected end of file)"), std::string::npos)
      << r.err;
  EXPECT_TRUE(Printable(r.err)) << r.err;
  r = RunEcps("train lr --local -q --train - --test - --out " + P("lr_twice") + " < " + G("impressions.libsvm"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--test -: standard input is already the input of --train"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecps::testing
