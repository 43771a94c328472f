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
#include "tests/lr/impute_test_util.h"

namespace ecps {
namespace {

using testing::RunEcps;

using testing::ImputeData;
using testing::Scores;

ImputeData Make(int rows, int shift) {
  return testing::MakeImputeData(rows, shift, "clicked", [](int i, int age, int spend) {
    return ((age > 40) != (i % 5 == 0) || spend > 180) ? "1" : "0";
  });
}

nlohmann::json Metrics(const std::string& out) { return testing::MetricsOf(out); }

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
  ImputeData train_, test_;
};

TEST_F(LrImpute, FillsAreTheTrainingStatisticsAndPredictFillsAlike) {
  for (const auto& [mode, fill] : testing::ExpectedFills(train_)) {
    SCOPED_TRACE(mode);
    const std::string out = dir_ / mode;
    const auto run = RunEcps(Train(fmt::format("--local --workers 2 --impute {} --out {}", mode, out)));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto m = Metrics(out);
    testing::ExpectImputeJson(m["impute"], mode, train_, fill);
    EXPECT_EQ(m["train_rows"], train_.rows);
    EXPECT_EQ(m["eval_rows"], test_.rows);
    // predict on the test file = predict on it filled by hand with the training fills.
    testing::ExpectPredictFillsAlike(out, dir_, test_, fill);
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
