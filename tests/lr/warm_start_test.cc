// train lr --init-model through the real binary (single node): 1 epoch and then 1 more from
// its model give the 2-epoch run's bytes (FTRL, AdaGrad, SGD with a decaying step; libsvm and
// CSV with standardised columns; more servers for the continuation); a model without
// optimizer state (format 1) continues with fresh accumulators, within a stated distance of
// the 2-epoch run; incompatible and missing models are refused naming why.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "models/common/model_file.h"
#include "models/lr/lr_model.h"
#include "tests/common/run_ecps.h"
#include "tests/lr/checkpoint_testing.h"

namespace ecps {
namespace {

using testing::RunEcps;

// train.svm (20000 rows) and test.svm (4000 rows).
void WriteCtr(const testing::TempDir& dir) { lrtest::WriteCtr(dir, 20000, 10, 2000); }

std::string Train(const testing::TempDir& dir, int epochs, const std::string& extra) {
  return fmt::format("train lr --train {} --test {} --hash-bits 14 --epochs {} --batch-size 400 "
                     "--quiet --local --workers 2 {}",
                     dir / "train.svm", dir / "test.svm", epochs, extra);
}

nlohmann::json Metrics(const std::string& out) {
  return nlohmann::json::parse(testing::ReadText(out + "/metrics.json"));
}

void ExpectSameBytes(const std::string& a, const std::string& b) {
  for (const char* f : {"model.bin", "weights.csv"}) {
    const std::string e = testing::ReadText(a + "/" + f);
    EXPECT_FALSE(e.empty()) << f;
    EXPECT_TRUE(e == testing::ReadText(b + "/" + f)) << f << " differs";
  }
  EXPECT_EQ(Metrics(a)["auc"], Metrics(b)["auc"]);
}

class LrWarmStart : public ::testing::TestWithParam<const char*> {};

TEST_P(LrWarmStart, OneEpochThenOneMoreIsTheTwoEpochRun) {
  testing::TempDir dir("warm");
  WriteCtr(dir);
  const std::string rule = GetParam();
  ASSERT_EQ(RunEcps(Train(dir, 2, rule + " --out " + (dir / "two"))).exit_code, 0);
  const auto one = RunEcps(Train(dir, 1, rule + " --out " + (dir / "one")));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  // Three servers now: each loads its range of the model's table.
  const auto more = RunEcps(Train(dir, 1, rule + " --servers 3 --init-model " + (dir / "one") +
                                             " --out " + (dir / "more")));
  ASSERT_EQ(more.exit_code, 0) << more.err;
  ExpectSameBytes(dir / "two", dir / "more");
  const auto init = Metrics(dir / "more")["init_model"];
  EXPECT_EQ(init["epochs_trained"], 1);
  EXPECT_EQ(init["clocks_trained"], Metrics(dir / "one")["batches_per_epoch"]);
  EXPECT_EQ(init["optimizer_state"], rule.find("sgd") == std::string::npos) << init;
  // The model file records the training behind it.
  auto m = models::lr::LoadLrModel(dir / "more/model.bin");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->epochs_trained, 2u);
}

INSTANTIATE_TEST_SUITE_P(Rules, LrWarmStart,
                         ::testing::Values("", "--algorithm adagrad",
                                           "--algorithm sgd --lr-decay 0.05 --l2 0.001"),
                         [](const auto& rule) {
                           return std::string(rule.index == 0 ? "Ftrl" : rule.index == 1 ? "AdaGrad" : "SgdDecay");
                         });

// CSV with numeric columns: the continuation keeps the init model's scaling, so the same data
// gives the same bytes; another standardisation is refused.
TEST(LrWarmStartCsv, StandardisedColumnsContinueExactly) {
  testing::TempDir dir("warm-csv");
  std::string csv = "clicked,age,spend,city\n";
  for (int i = 0; i < 3000; ++i) {
    const int age = 18 + (i * 7) % 50, spend = (i * 13) % 200;
    const bool y = (age > 40) != (i % 5 == 0) || spend > 180;
    csv += fmt::format("{},{},{},c{}\n", y ? 1 : 0, age, spend, i % 7);
  }
  testing::WriteText(dir / "d.csv", csv);
  const std::string base = fmt::format(
      "train lr --train {} --format csv --label-column clicked --hash-bits 8 --batch-size 100 --holdout 0.2 "
      "--quiet --local --workers 2",
      dir / "d.csv");
  ASSERT_EQ(RunEcps(base + " --epochs 2 --out " + (dir / "two")).exit_code, 0);
  ASSERT_EQ(RunEcps(base + " --epochs 1 --out " + (dir / "one")).exit_code, 0);
  const auto more = RunEcps(base + " --epochs 1 --init-model " + (dir / "one") + " --out " + (dir / "more"));
  ASSERT_EQ(more.exit_code, 0) << more.err;
  ExpectSameBytes(dir / "two", dir / "more");
  const auto raw = RunEcps(base + " --epochs 1 --no-standardize --init-model " + (dir / "one") +
                           " --out " + (dir / "raw"));
  EXPECT_EQ(raw.exit_code, 2);
  EXPECT_NE(raw.err.find("numeric columns are standardised; this run's would not be"), std::string::npos)
      << raw.err;
}

// A model written by ecps before format 2 (no optimizer state, no epoch count).
struct V1File {
  models::lr::LrModel* m;
  template <class A>
  void serialize(A& ar) { m->SerializeV1(ar); }
};

TEST(LrWarmStartV1, AModelWithoutStateStartsFreshAccumulatorsNearTheTwoEpochRun) {
  testing::TempDir dir("warm-v1");
  WriteCtr(dir);
  ASSERT_EQ(RunEcps(Train(dir, 2, "--out " + (dir / "two"))).exit_code, 0);
  ASSERT_EQ(RunEcps(Train(dir, 1, "--out " + (dir / "one"))).exit_code, 0);
  auto m = models::lr::LoadLrModel(dir / "one/model.bin");
  ASSERT_TRUE(m.ok());
  V1File v1{&*m};
  ASSERT_TRUE(models::SaveModel(dir / "v1.bin", "lr", 1, v1).ok());
  const auto more = RunEcps(Train(dir, 1, "--init-model " + (dir / "v1.bin") + " --out " + (dir / "more")));
  ASSERT_EQ(more.exit_code, 0) << more.err;
  const auto init = Metrics(dir / "more")["init_model"];
  EXPECT_EQ(init["optimizer_state"], false);
  EXPECT_EQ(init["epochs_trained"], 0);
  // Not the same weights (FTRL's n restarts at 0: larger steps), but a model of about the
  // same quality: measured here, test AUC 0.6735 (2 epochs) and 0.6705 (continued), logloss
  // 0.4532 and 0.4562; the bounds allow about 6 times those differences.
  const auto a = Metrics(dir / "two"), b = Metrics(dir / "more");
  EXPECT_NE(testing::ReadText(dir / "two/model.bin"), testing::ReadText(dir / "more/model.bin"));
  std::printf("auc %.5f vs %.5f, logloss %.5f vs %.5f\n", a["auc"].get<double>(), b["auc"].get<double>(),
              a["logloss"].get<double>(), b["logloss"].get<double>());
  EXPECT_LT(std::fabs(a["auc"].get<double>() - b["auc"].get<double>()), 0.02);
  EXPECT_LT(std::fabs(a["logloss"].get<double>() - b["logloss"].get<double>()), 0.02);
  // --no-optimizer-state writes such a model too.
  ASSERT_EQ(RunEcps(Train(dir, 1, "--no-optimizer-state --out " + (dir / "bare"))).exit_code, 0);
  const auto bare = RunEcps(Train(dir, 1, "--init-model " + (dir / "bare") + " --out " + (dir / "bare2")));
  ASSERT_EQ(bare.exit_code, 0) << bare.err;
  EXPECT_EQ(Metrics(dir / "bare2")["init_model"]["optimizer_state"], false);
  EXPECT_LT(testing::ReadText(dir / "bare/model.bin").size(), testing::ReadText(dir / "one/model.bin").size());
}

TEST(LrWarmStartRefusals, MissingIncompatibleAndOtherKindsAreNamed) {
  testing::TempDir dir("warm-refuse");
  WriteCtr(dir);
  ASSERT_EQ(RunEcps(Train(dir, 1, "--out " + (dir / "one"))).exit_code, 0);
  const auto refused = [&](const std::string& extra, const std::string& says) {
    const auto r = RunEcps(Train(dir, 1, extra + " --out " + (dir / "x")));
    EXPECT_EQ(r.exit_code, 2) << extra << "\n" << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << extra << "\n" << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "x")) << extra;
  };
  refused("--init-model " + (dir / "nope/model.bin"),
          "--init-model " + (dir / "nope/model.bin") + ": no such file or folder");
  refused("--init-model " + (dir / "one") + " --hash-bits 15",
          "a model of another feature space: it has --hash-bits 14; this run has 15");
  refused("--init-model " + (dir / "one") + " --no-bias", "it has a bias; this run has --no-bias");
  refused("--init-model " + (dir / "one") + " --algorithm adagrad",
          "the model was trained with --algorithm ftrl; this run has adagrad");
  refused("--init-model " + (dir / "train.svm"), "not an ecps model file");
  // A linear-regression model is another kind.
  ASSERT_EQ(RunEcps(fmt::format("train linreg --train {} --hash-bits 8 --quiet --local --out {}",
                                dir / "train.svm", dir / "lin")).exit_code, 0);
  refused("--init-model " + (dir / "lin"), (dir / "lin/model.bin") + ": this is a linreg model; expected a lr model");
}

// A featindex that moves a trained feature to another index is refused; one that only adds
// features is accepted.
TEST(LrWarmStartRefusals, AFeatindexThatRenumbersAFeatureIsNamed) {
  testing::TempDir dir("warm-featindex");
  WriteCtr(dir);
  std::string old_index, moved, grown;
  for (int i = 1; i <= 20000; ++i) {
    old_index += fmt::format("f{}\t{}\n", i, i);
    moved += fmt::format("f{}\t{}\n", i == 3 ? 4 : i == 4 ? 3 : i, i);
    grown += fmt::format("f{}\t{}\n", i, i);
  }
  grown += "new\t20001\n";
  testing::WriteText(dir / "old.txt", old_index);
  testing::WriteText(dir / "moved.txt", moved);
  testing::WriteText(dir / "grown.txt", grown);
  ASSERT_EQ(RunEcps(Train(dir, 1, "--featindex " + (dir / "old.txt") + " --out " + (dir / "one"))).exit_code, 0);
  const auto r = RunEcps(Train(dir, 1, "--featindex " + (dir / "moved.txt") + " --init-model " + (dir / "one") +
                                       " --out " + (dir / "x")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.err.find("gives feature \"f3\" another index") != std::string::npos ||
              r.err.find("gives feature \"f4\" another index") != std::string::npos)
      << r.err;
  const auto ok = RunEcps(Train(dir, 1, "--featindex " + (dir / "grown.txt") + " --init-model " + (dir / "one") +
                                        " --out " + (dir / "y")));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace ecps
