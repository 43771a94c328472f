// train lr --impute through the real binary: each mode's fills are the present training
// values' 0, mean or lower median (never the test file's), rows are dropped and counted, the
// test file is filled with the training fills, predict fills alike (drop: nan), and mpirun
// -np 4 (two workers) gives the --local --workers 2 bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/common/run_ecps.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using testing::RunEcps;

// Rows of clicked,age,spend,city; age missing in every 7th row, spend in every 5th.
struct Data {
  std::string text = "clicked,age,spend,city\n";
  std::vector<double> age, spend;  // present values
  int rows = 0, complete = 0;
};

Data Make(int rows, int shift) {
  Data d;
  for (int i = 0; i < rows; ++i) {
    const int age = 18 + (i * 7 + shift) % 50, spend = (i * 13 + shift) % 200;
    const bool no_age = i % 7 == 3, no_spend = i % 5 == 1;
    const bool y = (age > 40) != (i % 5 == 0) || spend > 180;
    d.text += fmt::format("{},{},{},c{}\n", y ? 1 : 0, no_age ? "" : std::to_string(age),
                          no_spend ? "" : std::to_string(spend), i % 7);
    if (!no_age) d.age.push_back(age);
    if (!no_spend) d.spend.push_back(spend);
    d.complete += !no_age && !no_spend;
  }
  d.rows = rows;
  return d;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double LowerMedian(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

nlohmann::json Metrics(const std::string& out) {
  return nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
}

// The second column of predict's output.
std::vector<std::string> Scores(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(testing::ReadText(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) out.push_back(line.substr(line.find(',') + 1));
  return out;
}

class LrImpute : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = Make(3000, 0);
    test_ = Make(600, 3);
    testing::WriteText(dir_ / "train.csv", train_.text);
    testing::WriteText(dir_ / "test.csv", test_.text);
  }
  std::string Train(const std::string& extra) const {
    return fmt::format("train lr --train {} --test {} --format csv --label-column clicked --hash-bits 8 "
                       "--batch-size 100 --epochs 2 --quiet {}",
                       dir_ / "train.csv", dir_ / "test.csv", extra);
  }
  testing::TempDir dir_{"impute"};
  Data train_, test_;
};

TEST_F(LrImpute, FillsAreTheTrainingStatisticsAndPredictFillsAlike) {
  const std::vector<std::pair<const char*, std::pair<double, double>>> modes = {
      {"zero", {0, 0}},
      {"mean", {Mean(train_.age), Mean(train_.spend)}},
      {"median", {LowerMedian(train_.age), LowerMedian(train_.spend)}}};
  for (const auto& [mode, fill] : modes) {
    SCOPED_TRACE(mode);
    const std::string out = dir_ / mode;
    const auto run = RunEcps(Train(fmt::format("--local --workers 2 --impute {} --out {}", mode, out)));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto m = Metrics(out);
    const auto& imp = m["impute"];
    EXPECT_EQ(imp["mode"], mode);
    EXPECT_EQ(imp["columns"]["age"]["missing"], train_.rows - static_cast<int>(train_.age.size()));
    EXPECT_EQ(imp["columns"]["spend"]["missing"], train_.rows - static_cast<int>(train_.spend.size()));
    EXPECT_DOUBLE_EQ(imp["columns"]["age"]["fill"].get<double>(), fill.first);
    EXPECT_DOUBLE_EQ(imp["columns"]["spend"]["fill"].get<double>(), fill.second);
    EXPECT_EQ(imp["rows_dropped"], 0);
    EXPECT_EQ(m["train_rows"], train_.rows);
    EXPECT_EQ(m["eval_rows"], test_.rows);
    // predict on the test file = predict on it filled by hand with the training fills.
    std::string filled = "clicked,age,spend,city\n";
    std::istringstream in(test_.text);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      if (f[1].empty()) f[1] = fmt::format("{:.17g}", fill.first);
      if (f[2].empty()) f[2] = fmt::format("{:.17g}", fill.second);
      filled += fmt::format("{},{},{},{}\n", f[0], f[1], f[2], f[3]);
    }
    testing::WriteText(dir_ / "filled.csv", filled);
    ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", out, dir_ / "test.csv",
                                  dir_ / "p1.csv")).exit_code, 0);
    ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", out, dir_ / "filled.csv",
                                  dir_ / "p2.csv")).exit_code, 0);
    EXPECT_EQ(Scores(dir_ / "p1.csv"), Scores(dir_ / "p2.csv"));
  }
}

TEST_F(LrImpute, DropRemovesIncompleteRowsAndPredictScoresThemNan) {
  const std::string out = dir_ / "drop";
  const auto run = RunEcps(Train("--local --workers 2 --impute drop --out " + out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto m = Metrics(out);
  EXPECT_EQ(m["impute"]["rows_dropped"], train_.rows - train_.complete);
  EXPECT_EQ(m["train_rows"], train_.complete);
  EXPECT_EQ(m["eval_rows"], test_.complete);
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", out, dir_ / "test.csv",
                                dir_ / "p.csv")).exit_code, 0);
  const auto scores = Scores(dir_ / "p.csv");
  ASSERT_EQ(scores.size(), static_cast<std::size_t>(test_.rows));
  EXPECT_EQ(std::count(scores.begin(), scores.end(), "nan"), test_.rows - test_.complete);
}

TEST_F(LrImpute, MpirunWithTwoWorkersGivesTheLocalBytes) {
  for (const char* mode : {"mean", "median", "drop"}) {
    SCOPED_TRACE(mode);
    const std::string local = dir_ / fmt::format("local-{}", mode), mpi = dir_ / fmt::format("mpi-{}", mode);
    ASSERT_EQ(RunEcps(Train(fmt::format("--local --workers 2 --impute {} --out {}", mode, local))).exit_code, 0);
    const std::string cmd = fmt::format(
        "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root -np 4 {} {} 2>{}", ECPS_BINARY,
        Train(fmt::format("--impute {} --out {}", mode, mpi)), dir_ / "mpi.err");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << testing::ReadText(dir_ / "mpi.err");  // NOLINT
    EXPECT_TRUE(testing::ReadText(local + "/model.bin") == testing::ReadText(mpi + "/model.bin"));
    EXPECT_EQ(Metrics(local)["impute"], Metrics(mpi)["impute"]);
    EXPECT_EQ(Metrics(local)["auc"], Metrics(mpi)["auc"]);
  }
}

TEST_F(LrImpute, RefusedWhereItDoesNotApply) {
  testing::WriteText(dir_ / "a.svm", "1 1:1\n0 2:1\n");
  const auto r = RunEcps(fmt::format("train lr --train {} --impute mean --local --quiet --out {}", dir_ / "a.svm",
                                     dir_ / "x"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--impute applies to csv data"), std::string::npos) << r.err;
  const auto bad = RunEcps(Train("--local --impute average --out " + (dir_ / "y")));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--impute"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ecps
