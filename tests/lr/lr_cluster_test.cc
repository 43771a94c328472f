// In-process cluster tests of `ecps train lr` and `ecps train linreg`: the same model for 1, 2
// and 4 workers under BSP, FTRL sparsity end to end, prediction agreeing with the job's own
// evaluation, the real data sets, and linear regression against a direct solve.
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include "models/lr/linreg_job.h"
#include "models/lr/lr_job.h"
#include "models/lr/synthetic.h"
#include "scheduler/local_cluster.h"
#include "tests/common/quiet_cluster.h"
#include "tests/common/shared_data.h"
#include "tests/lr/lr_test_util.h"

namespace ecps {
namespace {

using namespace models::lr;
using testing::TempDir;

sched::LocalClusterOptions Quiet(int staleness = 0) { return testing::QuietCluster(staleness); }

struct LrRun {
  nlohmann::json metrics;
  LrModel model;
};

LrRun RunLr(const LrOptions& options, int servers, int workers, int staleness = 0) {
  std::shared_ptr<LrJob> scheduler_job;
  auto results = sched::RunLocalEach(*ps::RoleTable::Make(servers, workers), Quiet(staleness), [&](ps::Rank r) {
    auto j = std::make_shared<LrJob>(options);
    if (r == 0) scheduler_job = j;
    return j;
  });
  for (std::size_t r = 0; r < results.size(); ++r) {
    EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r].ToString();
  }
  return {scheduler_job->metrics(), scheduler_job->model()};
}

// Small synthetic CTR train and test files, shared by the tests of this file.
class LrCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("cluster");
    SyntheticCtrOptions o;
    o.rows = 6000;
    o.fields = 12;
    o.max_cardinality = 2000;
    o.seed = 11;
    ASSERT_TRUE(WriteSyntheticCtr(o, *dir_ / "train.svm").ok());
    o.skip = o.rows;
    o.rows = 2000;
    ASSERT_TRUE(WriteSyntheticCtr(o, *dir_ / "test.svm").ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  static LrOptions Options(const std::string& out) {
    LrOptions o;
    o.train = {*dir_ / "train.svm"};
    o.test = *dir_ / "test.svm";
    o.parser.hash_bits = 16;
    o.batch_size = 300;
    o.out = *dir_ / out;
    return o;
  }
  static TempDir* dir_;
};
TempDir* LrCluster::dir_ = nullptr;

double MaxWeightDiff(const LrModel& a, const LrModel& b) {
  const auto wa = a.DenseWeights(), wb = b.DenseWeights();
  double d = 0;
  for (std::size_t k = 0; k < wa.size(); ++k) d = std::max(d, static_cast<double>(std::fabs(wa[k] - wb[k])));
  return d;
}

TEST_F(LrCluster, SameModelFor1And2And4WorkersUnderBsp) {
  for (const char* algorithm : {"ftrl", "adagrad", "sgd"}) {
    LrOptions o = Options(std::string("eq_") + algorithm);
    o.update.algorithm = ParseAlgorithm(algorithm).value();
    if (std::string(algorithm) == "sgd") o.update.learning_rate = 0.5;
    const LrRun one = RunLr(o, 1, 1);
    ASSERT_GT(one.model.keys.size(), 1000u);
    ASSERT_GT(one.metrics["auc"].get<double>(), 0.6) << algorithm;
    for (auto [servers, workers] : {std::pair{1, 2}, std::pair{2, 4}}) {
      const LrRun many = RunLr(o, servers, workers);
      EXPECT_LE(MaxWeightDiff(one.model, many.model), 1e-5) << algorithm << ", " << workers << " workers";
      EXPECT_NEAR(many.metrics["auc"].get<double>(), one.metrics["auc"].get<double>(), 1e-5) << algorithm;
      EXPECT_NEAR(many.metrics["logloss"].get<double>(), one.metrics["logloss"].get<double>(), 1e-5) << algorithm;
      EXPECT_EQ(many.metrics["train_rows"], one.metrics["train_rows"]);
    }
  }
}

TEST_F(LrCluster, DifferentSeedGivesADifferentModel) {
  // The equivalence above must not be a model that ignores the data order.
  LrOptions o = Options("seed");
  const LrRun a = RunLr(o, 1, 2);
  o.seed = 99;
  const LrRun b = RunLr(o, 1, 2);
  EXPECT_GT(MaxWeightDiff(a.model, b.model), 1e-3);
}

TEST_F(LrCluster, FtrlL1GivesSparseModels) {
  LrOptions o = Options("l1");
  o.update.l1 = 0;
  const LrRun dense = RunLr(o, 1, 2);
  o.update.l1 = 5;
  const LrRun sparse = RunLr(o, 1, 2);
  EXPECT_LT(sparse.model.keys.size() * 3, dense.model.keys.size())
      << sparse.model.keys.size() << " vs " << dense.model.keys.size();
  for (float w : sparse.model.weights) EXPECT_NE(w, 0.0f);  // the model lists the non-zeros
  EXPECT_EQ(sparse.metrics["nonzero_weights"].get<std::size_t>(), sparse.model.keys.size());
  EXPECT_GT(sparse.metrics["auc"].get<double>(), 0.65);
}

TEST_F(LrCluster, OutputsAndPredictionAgreeWithTheJobsEvaluation) {
  LrOptions o = Options("out");
  o.epochs = 2;
  const LrRun run = RunLr(o, 2, 3);
  const std::string out = o.out;
  for (const char* f : {"model.bin", "metrics.json", "metrics.jsonl", "weights.csv", "weights.json"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  }
  const std::string jsonl = testing::ReadText(out + "/metrics.jsonl");
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 2);
  auto m = nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
  for (const char* k : {"auc", "logloss", "accuracy", "precision", "recall", "f1", "predicted_positive_rate",
                        "observed_positive_rate"}) {
    EXPECT_TRUE(m.contains(k)) << k;
  }
  auto model = LoadLrModel(out + "/model.bin");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto probs = PredictFile(*model, o.test);
  ASSERT_TRUE(probs.ok()) << probs.status().ToString();
  ASSERT_EQ(probs->size(), 2000u);
  std::vector<float> labels;
  for (char c : testing::ReadText(o.test)) {
    if (labels.empty() || c == '\n') labels.push_back(-1);
    if (labels.back() < 0 && (c == '0' || c == '1')) labels.back() = static_cast<float>(c - '0');
  }
  labels.resize(2000);
  auto again = BinaryEval::From(*probs, labels, 0.5).ToJson(0.5);
  EXPECT_NEAR(again["auc"].get<double>(), m["auc"].get<double>(), 1e-9);
  EXPECT_NEAR(again["logloss"].get<double>(), m["logloss"].get<double>(), 1e-6);
}

TEST_F(LrCluster, SspAndAspTrainToo) {
  LrOptions o = Options("ssp");
  const LrRun bsp = RunLr(o, 1, 3, 0);
  const LrRun ssp = RunLr(o, 1, 3, 2);
  // SSP: gradients at most 2 clocks stale, close to BSP.
  EXPECT_NEAR(ssp.metrics["auc"].get<double>(), bsp.metrics["auc"].get<double>(), 0.03);
  // ASP: a fast worker may compute many batches on old weights (how much depends on thread
  // scheduling), so only ask for a useful model whose reported metrics are those of the
  // final weights.
  o.out = *dir_ / "asp";
  const LrRun asp = RunLr(o, 1, 3, -1);
  EXPECT_GT(asp.metrics["auc"].get<double>(), 0.55);
  auto probs = PredictFile(asp.model, o.test);
  ASSERT_TRUE(probs.ok());
  std::vector<float> labels;
  std::istringstream test(testing::ReadText(o.test));
  for (std::string line; std::getline(test, line);) labels.push_back(line[0] == '1' ? 1.0f : 0.0f);
  EXPECT_NEAR(BinaryEval::From(*probs, labels, 0.5).ToJson(0.5)["auc"].get<double>(), asp.metrics["auc"].get<double>(),
              1e-9);
}

TEST_F(LrCluster, SkippedRowsAreCountedInMetrics) {
  const std::string bad = *dir_ / "bad.svm";
  std::string text = testing::ReadText(*dir_ / "train.svm");
  text.insert(text.find('\n') + 1, "1 3:x\n");
  text += "maybe 1:1\n";
  testing::WriteText(bad, text);
  LrOptions o = Options("bad");
  o.train = {bad};
  auto failed = sched::RunLocal(*ps::RoleTable::Make(1, 2), Quiet(), [&](ps::Rank) { return std::make_shared<LrJob>(o); });
  // Both workers meet a bad row; whichever reports first stops the job.
  EXPECT_TRUE(failed.message().find(bad + ":2: feature \"3:x\" is not idx:value") != std::string::npos ||
              failed.message().find(bad + ":6002: label \"maybe\" is not a number") != std::string::npos)
      << failed.ToString();
  EXPECT_EQ(failed.code(), StatusCode::kDataError);
  o.skip_bad_rows = true;
  const LrRun run = RunLr(o, 1, 2);
  EXPECT_EQ(run.metrics["bad_rows"].get<int>(), 2);
  EXPECT_EQ(run.metrics["train_rows"].get<int>(), 6000);
}

// ---- Real data (../shared/data): skipped without it, a failure in CI ------------------------

TEST(LrRealData, IpinyouTrainToTestWithDefaults) {
  ECPS_SHARED_DATA_OR_SKIP(train, "ipinyou-ctr/train.fm.txt");
  ECPS_SHARED_DATA_OR_SKIP(test, "ipinyou-ctr/test.fm.txt");
  ECPS_SHARED_DATA_OR_SKIP(featindex, "ipinyou-ctr/featindex.fm.txt");
  TempDir dir("ipinyou");
  LrOptions o;
  o.train = {train.string()};
  o.test = test.string();
  o.featindex = featindex.string();
  o.out = dir / "out";
  const LrRun run = RunLr(o, 1, 2);
  EXPECT_EQ(run.metrics["train_rows"].get<int>(), 26773);
  EXPECT_EQ(run.metrics["eval_rows"].get<int>(), 21150);
  EXPECT_GT(run.metrics["auc"].get<double>(), 0.55);  // liblinear's best C: 0.586 (bench/lr)
  const std::string csv = testing::ReadText(dir / "out/weights.csv");
  EXPECT_NE(csv.find("(bias)"), std::string::npos);
  EXPECT_NE(csv.find("weekday:"), std::string::npos) << "featindex names";
}

TEST(LrRealData, OnlineShoppersCsvWithDefaults) {
  ECPS_SHARED_DATA_OR_SKIP(data, "online-shoppers-intention/online_shoppers_intention.csv");
  TempDir dir("shoppers");
  LrOptions o;
  o.train = {data.string()};
  o.parser.format = worker::DataFormat::kCsv;
  o.parser.label_column = "Revenue";
  o.out = dir / "out";
  const LrRun run = RunLr(o, 1, 2);
  EXPECT_EQ(run.metrics["train_rows"].get<int>() + run.metrics["eval_rows"].get<int>(), 12330);
  EXPECT_GT(run.metrics["auc"].get<double>(), 0.85);
  const std::string csv = testing::ReadText(dir / "out/weights.csv");
  EXPECT_NE(csv.find("PageValues,"), std::string::npos);
  EXPECT_NE(csv.find("VisitorType=Returning_Visitor"), std::string::npos) << "column=value names";
}

// ---- Linear regression --------------------------------------------------------------------

// The scheduler's job after a run, or null when a rank failed.
std::shared_ptr<LinRegJob> RunLinReg(const LinRegOptions& o, int servers, int workers) {
  std::shared_ptr<LinRegJob> job;
  auto results = sched::RunLocalEach(*ps::RoleTable::Make(servers, workers), Quiet(), [&](ps::Rank r) {
    auto j = std::make_shared<LinRegJob>(o);
    if (r == 0) job = j;
    return j;
  });
  for (const auto& s : results) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return nullptr;
  }
  return job;
}

TEST(LinReg, MatchesADirectSolveOnTheSameData) {
  TempDir dir("linreg");
  const int n = 3000, d = 7;
  const double l2 = 0.5;
  std::mt19937 rng(5);
  std::normal_distribution<double> g(0, 1);
  const std::vector<double> beta = {1.5, -2, 0.25, 3, 0, -0.75, 0.5};
  Eigen::MatrixXd X(n, d + 1);
  Eigen::VectorXd y(n);
  std::string text;
  for (int i = 0; i < n; ++i) {
    double t = 4.0;  // intercept
    std::string line;
    for (int j = 0; j < d; ++j) {
      // Sparse-ish rows: about one value in four is absent (zero).
      const double x = (i + j) % 4 == 0 ? 0.0 : std::round(g(rng) * 1000) / 1000;
      X(i, j) = x;
      t += beta[static_cast<std::size_t>(j)] * x;
      if (x != 0) line += fmt::format(" {}:{}", j, x);
    }
    X(i, d) = 1;
    y(i) = std::round((t + 0.1 * g(rng)) * 1000) / 1000;
    text += fmt::format("{}{}\n", y(i), line);
  }
  testing::WriteText(dir / "reg.svm", text);
  LinRegOptions o;
  o.train = {dir / "reg.svm"};
  o.holdout = 0;
  o.parser.num_features = d;
  o.l2 = l2;
  o.out = dir / "out";
  const auto job = RunLinReg(o, 2, 3);
  ASSERT_TRUE(job);
  // Direct: least squares on [X; sqrt(l2) I'] (I' without the intercept), by QR.
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n + d, d + 1);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n + d);
  A.topRows(n) = X;
  b.head(n) = y;
  for (int j = 0; j < d; ++j) A(n + j, j) = std::sqrt(l2);
  const Eigen::VectorXd direct = A.colPivHouseholderQr().solve(b);
  const auto& coef = job->coefficients();
  ASSERT_EQ(coef.size(), static_cast<std::size_t>(d + 1));
  for (int j = 0; j <= d; ++j) EXPECT_NEAR(coef[static_cast<std::size_t>(j)], direct(j), 1e-6) << "column " << j;
  EXPECT_NEAR(coef[static_cast<std::size_t>(d)], 4.0, 0.05);
  const auto& m = job->metrics();
  const Eigen::VectorXd res = y - X * direct;
  EXPECT_NEAR(m["train"]["rmse"].get<double>(), std::sqrt(res.squaredNorm() / n), 1e-6);
  EXPECT_NEAR(m["train"]["mae"].get<double>(), res.cwiseAbs().sum() / n, 1e-6);
  EXPECT_GT(m["train"]["r2"].get<double>(), 0.99);
  EXPECT_TRUE(std::filesystem::exists(dir / "out/coefficients.csv"));
  // The saved model predicts X b for every row (what `ecps predict` writes).
  auto model = LoadLinRegModel(dir / "out/model.bin");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto pred = PredictLinRegFile(*model, dir / "reg.svm");
  ASSERT_TRUE(pred.ok()) << pred.status().ToString();
  ASSERT_EQ(pred->size(), static_cast<std::size_t>(n));
  Eigen::VectorXd b_job(d + 1);
  for (int j = 0; j <= d; ++j) b_job(j) = coef[static_cast<std::size_t>(j)];
  const Eigen::VectorXd expect = X * b_job;
  for (int i = 0; i < n; ++i) EXPECT_NEAR((*pred)[static_cast<std::size_t>(i)], expect(i), 1e-6) << "row " << i;
  // A logistic-regression loader refuses it by kind.
  auto as_lr = LoadLrModel(dir / "out/model.bin");
  ASSERT_FALSE(as_lr.ok());
  EXPECT_NE(as_lr.status().message().find("this is a linreg model; expected a lr model"), std::string::npos)
      << as_lr.status().ToString();
}

TEST(LinReg, CsvNumericColumnsWithHoldout) {
  TempDir dir("linregcsv");
  std::string text = "a,b,shop,value\r\n";
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 10);
  for (int i = 0; i < 2000; ++i) {
    const double a = u(rng), b = u(rng);
    const char* shop = i % 3 == 0 ? "north" : "south";
    text += fmt::format("{:.3f},{:.3f},{},{:.4f}\r\n", a, b, shop, 2 * a - b + (i % 3 == 0 ? 5 : 0) + 1);
  }
  testing::WriteText(dir / "v.csv", text);
  LinRegOptions o;
  o.train = {dir / "v.csv"};
  o.parser.format = worker::DataFormat::kCsv;
  o.parser.label_column = "value";
  o.parser.hash_bits = 4;
  o.out = dir / "out";
  o.l2 = 1e-9;
  const auto job = RunLinReg(o, 1, 2);
  ASSERT_TRUE(job);
  EXPECT_LT(job->metrics()["rmse"].get<double>(), 1e-3);  // an exact linear relation
  EXPECT_GT(job->metrics()["r2"].get<double>(), 0.9999);
  EXPECT_GT(job->metrics()["examples"].get<double>(), 300);
  const std::string csv = testing::ReadText(dir / "out/coefficients.csv");
  EXPECT_NE(csv.find("(intercept)"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\na,"), std::string::npos) << csv;
  // New rows without the target column (and columns in another order) are scored.
  testing::WriteText(dir / "new.csv", "shop,b,a\nnorth,1,2\nsouth,4,10\n");
  auto model = LoadLinRegModel(dir / "out/model.bin");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto pred = PredictLinRegFile(*model, dir / "new.csv");
  ASSERT_TRUE(pred.ok()) << pred.status().ToString();
  ASSERT_EQ(pred->size(), 2u);
  EXPECT_NEAR((*pred)[0], 2 * 2 - 1 + 5 + 1, 1e-3);
  EXPECT_NEAR((*pred)[1], 2 * 10 - 4 + 1, 1e-3);
}

}  // namespace
}  // namespace ecps
