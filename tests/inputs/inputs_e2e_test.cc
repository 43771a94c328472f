// Input formats end to end through the ecps binary: gzip files and standard input give the
// same models and outputs as the plain files; bad input is refused in words.
#include <sys/stat.h>

#include <algorithm>
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
  // recommend --users: a gzip list as the plain one
  WriteBytes(dir_ / "who.txt", "u000001\nu000002\n");
  WriteBytes(dir_ / "who.gz", Gzip("u000001\nu000002\n"));
  std::string plain, gz;
  ASSERT_EQ(RunEcps("recommend -n 3 --model " + P("cf_plain") + " --users " + P("who.txt"), &plain).exit_code, 0);
  r = RunEcps("recommend -n 3 --model " + P("cf_plain") + " --users " + P("who.gz"), &gz);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(gz, plain);
  EXPECT_NE(plain.find("u000002,"), std::string::npos) << plain;
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


// A headerless user,item,timestamp file: implicit feedback, the timestamp inferred, logged and
// in metrics.json. MovieLens "::" gives the same recommendations as the same data with commas.
TEST_F(InputsE2e, InteractionColumnRolesAreInferredAndRecorded) {
  std::string text = ReadBytes(dir_ / "gen" / "interactions.csv");
  text = text.substr(text.find('\n') + 1);  // no header
  WriteBytes(dir_ / "nohead.csv", text);
  auto r = RunEcps("train itemcf --local --seed 1 --train " + P("nohead.csv") + " --out " + P("cf_nohead"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("timestamp: column 3, inferred from its values"), std::string::npos) << r.err;
  const std::string metrics = ReadBytes(dir_ / "cf_nohead" / "metrics.json");
  EXPECT_NE(metrics.find("\"feedback\": \"implicit\""), std::string::npos) << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("\"column_roles\""), std::string::npos);
  EXPECT_NE(metrics.find("3 columns (user item timestamp), no header"), std::string::npos);

  std::string dat;  // item::user::timestamp, roles given with --columns
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    dat += line.substr(c1 + 1, c2 - c1 - 1) + "::" + line.substr(0, c1) + "::" + line.substr(c2 + 1) + "\n";
    at = end + 1;
  }
  WriteBytes(dir_ / "ratings.dat", dat);
  r = RunEcps("train itemcf --local -q --seed 1 --columns item,user,timestamp --train " + P("ratings.dat") +
              " --out " + P("cf_dat"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadBytes(dir_ / "cf_dat" / "recommendations.csv") ==
              ReadBytes(dir_ / "cf_nohead" / "recommendations.csv"));
  // A column that is neither a rating nor a time is refused, naming --columns.
  WriteBytes(dir_ / "dates.csv", "u1,i1,20240101\nu2,i1,20240102\n");
  r = RunEcps("train itemcf --local -q --train " + P("dates.csv") + " --out " + P("cf_dates"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot tell whether column 3 is a rating or a timestamp"), std::string::npos) << r.err;
}

// --delimiter: k-means keeps it in the model for segment; linreg and predict with "::".
TEST_F(InputsE2e, DelimiterOptionReachesTrainingAndScoring) {
  std::string csv = ReadBytes(dir_ / "gen" / "users.csv"), semi = csv, dc;
  std::replace(semi.begin(), semi.end(), ',', ';');
  for (char c : csv) dc += c == ',' ? std::string("::") : std::string(1, c);
  WriteBytes(dir_ / "users_semi.csv", semi);
  WriteBytes(dir_ / "users.dat", dc);
  const std::string km = "train kmeans --local -q -k 3 --seed 1 --id-column user_id --features age,duration ";
  ASSERT_EQ(RunEcps(km + "--data " + G("users.csv") + " --out " + P("km_comma")).exit_code, 0);
  auto r = RunEcps(km + "--delimiter ';' --data " + P("users_semi.csv") + " --out " + P("km_semi"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string a, b;
  ASSERT_EQ(RunEcps("segment --model " + P("km_comma") + " --data " + G("users.csv") + " --out -", &a).exit_code, 0);
  r = RunEcps("segment --model " + P("km_semi") + " --data " + P("users_semi.csv") + " --out -", &b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(a == b);
  const std::string lin = "train linreg --local -q --holdout 0 --format csv --label-column avg_order_value "
                          "--ignore-columns user_id ";
  ASSERT_EQ(RunEcps(lin + "--train " + G("users.csv") + " --out " + P("lin_comma")).exit_code, 0);
  r = RunEcps(lin + "--delimiter :: --train " + P("users.dat") + " --out " + P("lin_dc"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(RunEcps("predict --model " + P("lin_comma") + " --id-column user_id --out - --data " + G("users.csv"), &a).exit_code, 0);
  r = RunEcps("predict --model " + P("lin_dc") + " --id-column user_id --out - --data " + P("users.dat"), &b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(a == b);
  EXPECT_GT(a.size(), 1000u);
  r = RunEcps(km + "--delimiter ';;' --data " + P("users_semi.csv") + " --out " + P("km_bad"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--delimiter"), std::string::npos) << r.err;
}

// An integer-coded column: a warning naming it and --categorical; declared, its codes are
// categories (weights per code, recorded in metrics.json) and predict binds them.
TEST_F(InputsE2e, IntegerCodedColumnsWarnAndCanBeDeclaredCategorical) {
  std::string csv = "session,Browser,pages,clicked\n";
  for (int i = 0; i < 300; ++i) {
    csv += fmt::format("s{},{},{},{}\n", i, 1 + i % 4, i % 29, (i % 4 == 2 || i % 7 == 0) ? 1 : 0);
  }
  WriteBytes(dir_ / "sessions.csv", csv);
  const std::string lr = "train lr --local --format csv --label-column clicked --train " + P("sessions.csv");
  auto r = RunEcps(lr + " --out " + P("lr_num"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("column \"Browser\" is used as a number, but its first 300 values are only 4 distinct "
                       "integers (1, 2, 3, 4): if they are codes (a browser, a region), declare it with "
                       "--categorical Browser"),
            std::string::npos)
      << r.err;
  r = RunEcps(lr + " -q --categorical Browser --out " + P("lr_cat"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("is used as a number"), std::string::npos) << r.err;
  EXPECT_NE(ReadBytes(dir_ / "lr_cat" / "metrics.json").find("Browser: categorical (--categorical)"),
            std::string::npos);
  EXPECT_NE(ReadBytes(dir_ / "lr_num" / "metrics.json").find("Browser: numeric, inferred"), std::string::npos);
  const std::string weights = ReadBytes(dir_ / "lr_cat" / "weights.csv");
  for (const char* code : {"Browser=1,", "Browser=2,", "Browser=3,", "Browser=4,"}) {
    EXPECT_NE(weights.find(code), std::string::npos) << code << "\n" << weights;
  }
  // k-means: the same warning; declared, the codes are one-hot columns of the profiles
  const std::string km = "train kmeans --local -k 2 --seed 1 --id-column session --features Browser,pages "
                         "--data " + P("sessions.csv");
  r = RunEcps(km + " --out " + P("km_num"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("column \"Browser\" is used as a number"), std::string::npos) << r.err;
  r = RunEcps(km + " -q --categorical Browser --out " + P("km_cat"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadBytes(dir_ / "km_cat" / "profiles.csv").rfind("segment,size,share,Browser=1,Browser=2,Browser=3,"
                                                               "Browser=4,pages\n", 0),
            0u);
  r = RunEcps("segment --model " + P("km_cat") + " --out - --data " + P("sessions.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunEcps(km + " -q --categorical Browser --dp-epsilon 1 --dp-bounds 0:1 --out " + P("km_dp"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--categorical: not available under --dp-epsilon"), std::string::npos) << r.err;
  std::string out;
  r = RunEcps("predict --model " + P("lr_cat") + " --id-column session --out - --data " + P("sessions.csv"), &out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(out.rfind("id,probability\ns0,", 0), 0u);
}

// Under mpirun each rank reads its own decompressed copy: the same k-means as --local on the
// plain file; standard input is refused there.
TEST_F(InputsE2e, UnderMpirunGzipWorksAndStdinIsRefused) {
  const std::string km = std::string(ECPS_BINARY) +
                         " train kmeans -q -k 3 --seed 1 --id-column user_id --features age,duration ";
  const std::string mpirun = "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 3 ";
  ASSERT_EQ(RunEcps("train kmeans --local -q -k 3 --seed 1 --id-column user_id --features age,duration "
                    "--servers 1 --workers 1 --data " + G("users.csv") + " --out " + P("km_local")).exit_code,
            0);
  ASSERT_EQ(std::system((mpirun + km + "--data " + P("users.csv.z") + " --out " + P("km_mpi") + " 2> " +
                         P("mpi.err")).c_str()),
            0)
      << ReadBytes(dir_ / "mpi.err");
  const std::string local = ReadBytes(dir_ / "km_local" / "assignments.csv");
  ASSERT_GT(local.size(), 1000u);
  EXPECT_TRUE(ReadBytes(dir_ / "km_mpi" / "assignments.csv") == local);
  EXPECT_NE(std::system((mpirun + km + "--data - --out " + P("km_mpi_in") + " < " + G("users.csv") + " 2> " +
                         P("mpi_in.err")).c_str()),
            0);
  EXPECT_NE(ReadBytes(dir_ / "mpi_in.err").find("--data -: standard input reaches only one process"),
            std::string::npos)
      << ReadBytes(dir_ / "mpi_in.err");
}

}  // namespace
}  // namespace ecps::testing
