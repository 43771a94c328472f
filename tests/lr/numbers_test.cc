// Numbers that would poison an lr model, through the real `ecps` binary: refused with
// file:line and the column (exit 2), and no output folder left behind.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/common/run_ecps.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using testing::RunEcps;
using testing::TempDir;
using testing::WriteText;

// 200 rows of a CSV with a numeric column x (1..4) and a category c; the label follows x.
std::string ShopCsv(const std::string& bad_x = "", int bad_row = 0) {
  std::string s = "x,c,y\n";
  for (int r = 1; r <= 200; ++r) {
    const int x = 1 + r % 4;
    s += fmt::format("{},{},{}\n", r == bad_row ? bad_x : std::to_string(x), r % 3 == 0 ? "a" : "b", x > 2 ? 1 : 0);
  }
  return s;
}

// 200 libsvm rows: feature 1 with value `scale` or 2 * `scale`, one of seven others, and
// `bad_token` appended to row `bad_row`.
std::string Svm(const std::string& bad_token = "", int bad_row = 0, double scale = 1) {
  std::string s;
  for (int r = 1; r <= 200; ++r) {
    s += fmt::format("{} 1:{:g} {}:1{}\n", r % 2, scale * (1 + r % 2), 2 + r % 7, r == bad_row ? " " + bad_token : "");
  }
  return s;
}

TEST(LrNumbers, HugeCsvValueIsRefusedWithFileLineAndColumn) {
  // Before the fix: exit 0 and a model whose weights were all NaN (-1e300 became -inf as a float).
  TempDir dir("num_csv");
  WriteText(dir / "train.csv", ShopCsv("-1e300", 2));
  const auto run = RunEcps(fmt::format("train lr --local --quiet --format csv --label-column y --train {} --out {}",
                                       dir / "train.csv", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(dir / "train.csv:3"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("column \"x\": \"-1e300\" is beyond the limit on data values (|x| <= 1e+15)"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, LibsvmValueBeyondTheLimitIsRefused) {
  // Before the fix 1e30 fitted a float and was trained on.
  TempDir dir("num_svm");
  WriteText(dir / "train.svm", Svm("9:1e30", 5));
  const auto run = RunEcps(fmt::format("train lr --local --quiet --train {} --out {}", dir / "train.svm", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(dir / "train.svm:5: feature \"9:1e30\": \"1e30\" is beyond the limit"), std::string::npos)
      << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, NanAndInfTokensAreRefusedInLibsvmAndLibffm) {
  TempDir dir("num_nan");
  for (const char* token : {"9:nan", "9:inf", "9:-inf", "9:NaN"}) {
    WriteText(dir / "train.svm", Svm(token, 7));
    const auto run = RunEcps(fmt::format("train lr --local --quiet --train {} --out {}", dir / "train.svm", dir / "out"));
    EXPECT_EQ(run.exit_code, 2) << token << ": " << run.err;
    EXPECT_NE(run.err.find(fmt::format("train.svm:7: feature \"{}\"", token)), std::string::npos) << run.err;
  }
  std::string ffm;
  for (int r = 1; r <= 100; ++r) ffm += fmt::format("{} 0:1:1 1:{}:{}\n", r % 2, r % 5, r == 4 ? "inf" : "1");
  WriteText(dir / "train.ffm", ffm);
  const auto run = RunEcps(
      fmt::format("train lr --local --quiet --format libffm --train {} --out {}", dir / "train.ffm", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("train.ffm:4: feature \"1:4:inf\": value is not finite"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(LrNumbers, DivergingTrainingStopsWithoutWritingTheModel) {
  // A step so large that the float weights overflow at the first update (1e30 x a gradient
  // of ~5e14, values within the limit). Before the fix: exit 0 and a model of inf/NaN weights.
  TempDir dir("num_diverge");
  WriteText(dir / "train.svm", Svm("", 0, 5e14));
  const auto run = RunEcps(fmt::format("train lr --local --quiet --algorithm sgd --learning-rate 1e30 --holdout 0 "
                                       "--train {} --out {}",
                                       dir / "train.svm", dir / "out"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("training diverged"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("--learning-rate"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

}  // namespace
}  // namespace ecps
