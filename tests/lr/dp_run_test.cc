// DP-SGD for `ecps train lr`, whole runs: in process (the batches and the noise do not depend on
// the worker count) and through the ecps binary (the privacy object, ε per epoch, refusals).
#include <sstream>

#include <gtest/gtest.h>

#include "models/lr/lr_job.h"
#include "models/lr/synthetic.h"
#include "scheduler/local_cluster.h"
#include "tests/common/quiet_cluster.h"
#include "tests/common/run_ecps.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using namespace models::lr;
using testing::TempDir;

// ---- Whole runs ----------------------------------------------------------------------------

class DpRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("dp");
    SyntheticCtrOptions o;
    o.rows = 3000;
    o.fields = 8;
    o.max_cardinality = 500;
    o.seed = 3;
    ASSERT_TRUE(WriteSyntheticCtr(o, *dir_ / "train.svm").ok());
    o.skip = o.rows;
    o.rows = 1000;
    ASSERT_TRUE(WriteSyntheticCtr(o, *dir_ / "test.svm").ok());
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
};
TempDir* DpRun::dir_ = nullptr;

TEST_F(DpRun, BatchesAndNoiseDoNotDependOnTheWorkerCount) {
  auto run = [&](int workers) {
    LrOptions o;
    o.train = {*dir_ / "train.svm"};
    o.test = *dir_ / "test.svm";
    o.parser.hash_bits = 12;
    o.epochs = 2;
    o.update.algorithm = Algorithm::kSgd;  // no L1 zeros: every noised key keeps a weight
    o.dp.noise_multiplier = 1.5;
    o.dp.delta = 1e-5;
    o.dp.has_seed = true;
    o.dp.seed = 4;
    o.out = *dir_ / fmt::format("w{}", workers);
    std::shared_ptr<LrJob> sched_job;
    auto results = sched::RunLocalEach(*ps::RoleTable::Make(1, workers), testing::QuietCluster(0), [&](ps::Rank r) {
      auto j = std::make_shared<LrJob>(o);
      if (r == 0) sched_job = j;
      return j;
    });
    for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
    return std::make_pair(sched_job->metrics(), sched_job->model());
  };
  const auto [m1, model1] = run(1);
  const auto [m3, model3] = run(3);
  EXPECT_EQ(m1["privacy"], m3["privacy"]);
  EXPECT_TRUE(m1["train_logloss"].is_null());
  ASSERT_EQ(model1.keys, model3.keys);
  double worst = 0;
  for (std::size_t i = 0; i < model1.weights.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(model1.weights[i]) - model3.weights[i]));
  }
  EXPECT_LT(worst, 1e-3);  // the same steps up to the order of float additions
  // Every key is noised each step, so (but for a weight rounding to exactly 0) every key of
  // the 2^12 has a weight, though the 3000 rows of 8 fields touch fewer.
  EXPECT_GE(model1.keys.size(), 4090u);
}

TEST_F(DpRun, EcpsTrainLrWithEpsilonWritesThePrivacyObject) {
  const std::string out = *dir_ / "cli";
  const auto run = testing::RunEcps(
      fmt::format("train lr --local --quiet --train {} --test {} --hash-bits 10 --dp-epsilon 1 --dp-delta 1e-5 --out {}",
                  *dir_ / "train.svm", *dir_ / "test.svm", out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto m = nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
  const auto& p = m["privacy"];
  ASSERT_TRUE(p.is_object()) << m.dump();
  EXPECT_LE(p["epsilon"].get<double>(), 1.0);
  EXPECT_EQ(p["delta"].get<double>(), 1e-5);
  EXPECT_EQ(p["accountant"], "rdp");
  EXPECT_EQ(p["conversion"], "balle");
  // No --dp-sample-rate or --batch-size: the DP default q = 0.02, 50 steps an epoch, 3 epochs.
  EXPECT_DOUBLE_EQ(p["sample_rate"].get<double>(), models::lr::kDpSampleRate);
  EXPECT_EQ(p["steps"].get<std::uint64_t>(), 150u);
  const auto sigma = privacy::FindNoiseMultiplier({1, 1e-5, models::lr::kDpSampleRate, 150});
  ASSERT_TRUE(sigma.ok());
  EXPECT_DOUBLE_EQ(p["noise_multiplier"].get<double>(), *sigma);
  EXPECT_TRUE(m["train_logloss"].is_null());
  std::istringstream lines(testing::ReadText(out + "/metrics.jsonl"));
  std::string line;
  double last = 0;
  int epochs = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_GT(j["epsilon"].get<double>(), last);
    EXPECT_FALSE(j.contains("train_logloss"));
    last = j["epsilon"].get<double>();
    ++epochs;
  }
  EXPECT_EQ(epochs, 3);
  EXPECT_DOUBLE_EQ(last, p["epsilon"].get<double>());
}

TEST_F(DpRun, EcpsDpDefaultsHashBitsAndTakesTheSampleRateFromAGivenBatchSize) {
  // No --hash-bits under DP: 2^kDpHashBits keys (not the non-private 22); --batch-size 100 of
  // 3000 rows: q = 1/30, 30 steps an epoch.
  const std::string out = *dir_ / "defaults";
  const auto run = testing::RunEcps(
      fmt::format("train lr --local --quiet --train {} --test {} --epochs 1 --batch-size 100 --export-weights none --dp-epsilon 1 "
                  "--dp-delta 1e-5 --out {}",
                  *dir_ / "train.svm", *dir_ / "test.svm", out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto m = nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
  EXPECT_EQ(m["config"]["hash_bits"].get<int>(), models::lr::kDpHashBits);
  EXPECT_DOUBLE_EQ(m["privacy"]["sample_rate"].get<double>(), 100.0 / 3000);
  EXPECT_EQ(m["privacy"]["steps"].get<std::uint64_t>(), 30u);
}

TEST_F(DpRun, EcpsRefusesABudgetItCannotMeetAndBadCombinations) {
  auto run = testing::RunEcps(fmt::format("train lr --local --quiet --train {} --hash-bits 8 --dp-epsilon 0.05 "
                                          "--dp-delta 1e-5 --out {}",
                                          *dir_ / "train.svm", *dir_ / "no1"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("cannot be met"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("smallest epsilon these settings reach"), std::string::npos) << run.err;
  run = testing::RunEcps(fmt::format("train lr --local --quiet --train {} --dp-clip 2 --out {}", *dir_ / "train.svm",
                                     *dir_ / "no2"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("need --dp-epsilon or --dp-noise-multiplier"), std::string::npos) << run.err;
  run = testing::RunEcps(fmt::format("train lr --local --quiet --train {} --dp-epsilon 1 --dp-noise-multiplier 1 "
                                     "--out {}",
                                     *dir_ / "train.svm", *dir_ / "no3"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  run = testing::RunEcps(fmt::format("train linreg --local --quiet --train {} --dp-epsilon 1 --out {}",
                                     *dir_ / "train.svm", *dir_ / "no4"));
  EXPECT_EQ(run.exit_code, 2) << run.err;  // linreg has no --dp-* options
}

}  // namespace
}  // namespace ecps
