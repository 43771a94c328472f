// train linreg --impute through the real binary: each mode's fills are the present training
// values' 0, mean or lower median (never the test file's), drop removes and counts rows,
// predict on the raw test file equals predict on a copy filled by hand (drop: nan), mpirun
// -np 4 (two workers) gives --local --workers 2's fills and coefficients, format-1 models load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/common/model_file.h"
#include "models/lr/linreg_job.h"
#include "tests/common/run_ecps.h"
#include "tests/lr/impute_test_util.h"

namespace ecps {
namespace {

using testing::RunEcps;

using testing::ImputeData;
using testing::Scores;

// y linear in age and spend.
ImputeData Make(int rows, int shift) {
  return testing::MakeImputeData(rows, shift, "y", [](int i, int age, int spend) {
    return fmt::format("{}", 0.5 * age + 0.1 * spend + (i % 3) + (i % 7 == 2 ? 4 : 0));
  });
}

nlohmann::json Metrics(const std::string& out) { return testing::MetricsOf(out); }

class LinRegImpute : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = Make(2000, 0);
    test_ = Make(400, 3);
    testing::WriteText(dir_ / "train.csv", train_.text);
    testing::WriteText(dir_ / "test.csv", test_.text);
  }
  std::string Train(const std::string& extra) const {
    return fmt::format(
        "train linreg --train {} --test {} --format csv --label-column y --hash-bits 4 --quiet {}",
        dir_ / "train.csv", dir_ / "test.csv", extra);
  }
  testing::TempDir dir_{"linreg-impute"};
  ImputeData train_, test_;
};

TEST_F(LinRegImpute, FillsAreTheTrainingStatisticsAndPredictFillsAlike) {
  for (const auto& [mode, fill] : testing::ExpectedFills(train_)) {
    SCOPED_TRACE(mode);
    const std::string out = dir_ / mode;
    const auto run =
        RunEcps(Train(fmt::format("--local --workers 2 --impute {} --out {}", mode, out)));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto m = Metrics(out);
    testing::ExpectImputeJson(m["impute"], mode, train_, fill);
    EXPECT_EQ(m["train"]["examples"], train_.rows);
    EXPECT_EQ(m["examples"], test_.rows);
    // predict on the test file = predict on it filled by hand with the training fills.
    testing::ExpectPredictFillsAlike(out, dir_, test_, fill);
    // The evaluation is on the filled test rows: its RMSE is that of the hand-filled predictions
    // (labels are read as floats: |y| < 70 moves each error by < 70 * 6e-8 = 4.2e-6).
    const auto p = Scores(dir_ / "p2.csv");
    std::istringstream fin(testing::ReadText(dir_ / "filled.csv"));
    std::string line;
    std::getline(fin, line);
    double sse = 0;
    for (std::size_t r = 0; std::getline(fin, line); ++r) {
      const double e = std::stod(line.substr(0, line.find(','))) - std::stod(p.at(r));
      sse += e * e;
    }
    EXPECT_NEAR(m["rmse"].get<double>(), std::sqrt(sse / test_.rows), 1e-5);
  }
}

TEST_F(LinRegImpute, DropRemovesIncompleteRowsAndPredictScoresThemNan) {
  const std::string out = dir_ / "drop";
  const auto run = RunEcps(Train("--local --workers 2 --impute drop --out " + out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto m = Metrics(out);
  EXPECT_EQ(m["impute"]["rows_dropped"], train_.rows - train_.complete);
  EXPECT_EQ(m["train"]["examples"], train_.complete);
  EXPECT_EQ(m["examples"], test_.complete);
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", out, dir_ / "test.csv",
                                dir_ / "p.csv"))
                .exit_code,
            0);
  const auto scores = Scores(dir_ / "p.csv");
  ASSERT_EQ(scores.size(), static_cast<std::size_t>(test_.rows));
  EXPECT_EQ(std::count(scores.begin(), scores.end(), "nan"), test_.rows - test_.complete);
}

TEST_F(LinRegImpute, MpirunWithTwoWorkersGivesTheLocalFills) {
  for (const char* mode : {"mean", "median"}) {
    SCOPED_TRACE(mode);
    const std::string local = dir_ / fmt::format("local-{}", mode),
                      mpi = dir_ / fmt::format("mpi-{}", mode);
    ASSERT_EQ(RunEcps(Train(fmt::format("--local --workers 2 --impute {} --out {}", mode, local)))
                  .exit_code,
              0);
    const std::string cmd = fmt::format(
        "env OMPI_MCA_pml=ob1 mpirun --oversubscribe --allow-run-as-root -np 4 {} {} 2>{}",
        ECPS_BINARY, Train(fmt::format("--impute {} --out {}", mode, mpi)), dir_ / "mpi.err");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << testing::ReadText(dir_ / "mpi.err");  // NOLINT
    EXPECT_EQ(Metrics(local)["impute"], Metrics(mpi)["impute"]);
    EXPECT_EQ(Metrics(local)["examples"], Metrics(mpi)["examples"]);
    // The sums' per-thread chunking may differ between the runs: coefficients to rounding.
    auto a = models::lr::LoadLinRegModel(local + "/model.bin");
    auto b = models::lr::LoadLinRegModel(mpi + "/model.bin");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->impute.fill, b->impute.fill);
    ASSERT_EQ(a->coef.size(), b->coef.size());
    for (std::size_t k = 0; k < a->coef.size(); ++k) EXPECT_NEAR(a->coef[k], b->coef[k], 1e-6) << k;
  }
}

// A format-1 model file (before --impute): the model without its fills.
struct V1 {
  models::lr::LinRegModel* m;
  template <class A>
  void serialize(A& ar) {
    m->SerializeV1(ar);
  }
};

TEST_F(LinRegImpute, FormatOneModelsLoadWithoutFills) {
  const std::string out = dir_ / "plain";
  ASSERT_EQ(RunEcps(Train("--local --out " + out)).exit_code, 0);
  auto m = models::lr::LoadLinRegModel(out + "/model.bin");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_TRUE(models::SaveModel(dir_ / "v1.bin", "linreg", 1, V1{&*m}).ok());
  auto old = models::lr::LoadLinRegModel(dir_ / "v1.bin");
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->impute.mode, models::lr::ImputeMode::kNone);
  EXPECT_EQ(old->coef, m->coef);
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", out, dir_ / "test.csv",
                                dir_ / "a.csv"))
                .exit_code,
            0);
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", dir_ / "v1.bin",
                                dir_ / "test.csv", dir_ / "b.csv"))
                .exit_code,
            0);
  EXPECT_EQ(Scores(dir_ / "a.csv"), Scores(dir_ / "b.csv"));
}

TEST_F(LinRegImpute, RefusedWhereItDoesNotApply) {
  testing::WriteText(dir_ / "a.svm", "1.5 1:1\n0.5 2:1\n");
  const auto r =
      RunEcps(fmt::format("train linreg --train {} --impute mean --local --quiet --out {}",
                          dir_ / "a.svm", dir_ / "x"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--impute applies to csv data"), std::string::npos) << r.err;
  const auto bad = RunEcps(Train("--local --impute average --out " + (dir_ / "y")));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--impute"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ecps
