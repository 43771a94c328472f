// `ecps predict` through the real binary: the header, each row's id (its line number, or a CSV
// id column) and the same score, digit for digit, as the model's own PredictFile /
// PredictLinRegFile in the format predict always printed ({:.8g} probabilities, {:.17g} values).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/lr/linreg_job.h"
#include "models/lr/lr_model.h"
#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

struct Prediction {
  std::string header;
  std::vector<std::string> ids, scores;
};

// Splits predict's output at the last comma of each line after the header.
Prediction Parse(const std::string& out) {
  Prediction p;
  std::istringstream lines(out);
  std::getline(lines, p.header);
  for (std::string line; std::getline(lines, line);) {
    const auto comma = line.rfind(',');
    p.ids.push_back(line.substr(0, comma));
    p.scores.push_back(line.substr(comma + 1));
  }
  return p;
}

class Predict : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = FreshDir("predict"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return "'" + (dir_ / name).string() + "'"; }

  // Trains `what` (e.g. "lr --format csv --label-column y") on `file` into folder `model`.
  void Train(const std::string& what, const std::string& file, const std::string& model) {
    const auto r = RunEcps(fmt::format("train {} --train {} --holdout 0 --local --quiet --out {}",
                                       what, Path(file), Path(model)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // predict's output for `file` (extra options `extra`), parsed; the run must succeed.
  Prediction Run(const std::string& model, const std::string& file, const std::string& extra = "") {
    std::string out;
    const auto r = RunEcps(
        fmt::format("predict --model {} --data {} --out - {}", Path(model), Path(file), extra),
        &out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Parse(out);
  }

  // The model's own probabilities for `file`, as predict printed them before it wrote ids.
  std::vector<std::string> LrScores(const std::string& model, const std::string& file) {
    auto m = models::lr::LoadLrModel((dir_ / model / "model.bin").string());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    auto p = models::lr::PredictFile(*m, (dir_ / file).string());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    std::vector<std::string> s;
    for (float v : *p) s.push_back(fmt::format("{:.8g}", v));
    return s;
  }

  fs::path dir_;
};

// A CSV with an id column (one id holding a comma, quoted), a categorical and a numeric
// column, a label, and a blank line.
constexpr const char* kCsv =
    "id,x,c,y\n"
    "s1,1.5,a,0\n"
    "s2,2.5,b,1\n"
    "\n"
    "\"s,3\",0.5,a,0\n"
    "s4,3.5,b,1\n"
    "s5,2.0,a,1\n"
    "s6,0.1,b,0\n";

TEST_F(Predict, CsvRowsByLineNumberOrIdColumnWithUnchangedScores) {
  WriteBytes(dir_ / "t.csv", kCsv);
  Train("lr --format csv --label-column y --numeric-columns x --categorical-columns c", "t.csv",
        "m");
  const auto want = LrScores("m", "t.csv");
  ASSERT_EQ(want.size(), 6u);

  const Prediction by_line = Run("m", "t.csv");
  EXPECT_EQ(by_line.header, "id,probability");
  EXPECT_EQ(by_line.ids, (std::vector<std::string>{"2", "3", "5", "6", "7", "8"}));
  EXPECT_EQ(by_line.scores, want);
  EXPECT_EQ(Run("m", "t.csv", "--id-column @line").ids, by_line.ids);

  const Prediction by_id = Run("m", "t.csv", "--id-column id");
  EXPECT_EQ(by_id.header, "id,probability");
  EXPECT_EQ(by_id.ids, (std::vector<std::string>{"s1", "s2", "\"s,3\"", "s4", "s5", "s6"}));
  EXPECT_EQ(by_id.scores, want);

  // Rows without a label are scored as well; a file written with --out holds the same text.
  WriteBytes(dir_ / "new.csv", "x,c,id\n1.5,a,n1\n9,b,n2\n");
  const Prediction fresh = Run("m", "new.csv", "--id-column id");
  EXPECT_EQ(fresh.ids, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(fresh.scores, LrScores("m", "new.csv"));
  EXPECT_EQ(fresh.scores[0], want[0]);
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --id-column id --out {}", Path("m"),
                                Path("new.csv"), Path("p.csv")))
                .exit_code,
            0);
  EXPECT_EQ(ReadBytes(dir_ / "p.csv"), "id,probability\nn1," + fresh.scores[0] + "\nn2," +
                                           fresh.scores[1] + "\n");

  // An unnamed first column (a pandas index) is named "".
  WriteBytes(dir_ / "unnamed.csv", ",x,c\n7,1.5,a\n9,9,b\n");
  const Prediction unnamed = Run("m", "unnamed.csv", "--id-column ''");
  EXPECT_EQ(unnamed.ids, (std::vector<std::string>{"7", "9"}));
  EXPECT_EQ(unnamed.scores, fresh.scores);

  // An id column the file does not have: exit 2, naming the column and listing the file's.
  auto r = RunEcps(fmt::format("predict --model {} --data {} --id-column nope --out -", Path("m"),
                               Path("t.csv")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--id-column"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no column \"nope\""), std::string::npos) << r.err;
  // A row too short for the id column is named by file and line.
  WriteBytes(dir_ / "short.csv", "x,c,id\n1.5,a,n1\n2,b\n");
  r = RunEcps(fmt::format("predict --model {} --data {} --id-column id --out -", Path("m"),
                          Path("short.csv")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("short.csv:3:"), std::string::npos) << r.err;
}

TEST_F(Predict, LinRegValuesKeepTheirSeventeenDigits) {
  WriteBytes(dir_ / "t.csv", kCsv);
  Train("linreg --format csv --label-column x --numeric-columns y --categorical-columns c",
        "t.csv", "lin");
  auto m = models::lr::LoadLinRegModel((dir_ / "lin/model.bin").string());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto y = models::lr::PredictLinRegFile(*m, (dir_ / "t.csv").string());
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  std::vector<std::string> want;
  for (double v : *y) want.push_back(fmt::format("{:.17g}", v));
  const Prediction p = Run("lin", "t.csv", "--id-column id");
  EXPECT_EQ(p.header, "id,prediction");
  EXPECT_EQ(p.ids, (std::vector<std::string>{"s1", "s2", "\"s,3\"", "s4", "s5", "s6"}));
  EXPECT_EQ(p.scores, want);
}

TEST_F(Predict, LibsvmRowsByLineNumber) {
  WriteBytes(dir_ / "t.svm", "1 1:1 3:0.5\n0 2:1\n\n1 1:1 4:2\n0 2:1 3:1\n1 1:1\n0 4:1\n");
  Train("lr --format libsvm", "t.svm", "m");
  const Prediction p = Run("m", "t.svm");
  EXPECT_EQ(p.header, "id,probability");
  EXPECT_EQ(p.ids, (std::vector<std::string>{"1", "2", "4", "5", "6", "7"}));
  EXPECT_EQ(p.scores, LrScores("m", "t.svm"));
  // Rows without labels, as a scoring file has them.
  WriteBytes(dir_ / "new.svm", "1:1 3:0.5\n\n\n2:1\n");
  const Prediction q = Run("m", "new.svm");
  EXPECT_EQ(q.ids, (std::vector<std::string>{"1", "4"}));
  EXPECT_EQ(q.scores, (std::vector<std::string>{p.scores[0], p.scores[1]}));
  // libsvm has no named columns.
  const auto r = RunEcps(fmt::format("predict --model {} --data {} --id-column id --out -",
                                     Path("m"), Path("t.svm")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--id-column id: only CSV data has named columns"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ecps::testing
