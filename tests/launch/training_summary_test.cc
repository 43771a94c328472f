// The summary every `ecps train <model>` prints: its figures from metrics.json (unit), and
// through the real binary for each model, absent under --quiet.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "launch/training_summary.h"
#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainingSummary, PrintsTheFiguresTheFileHolds) {
  const auto m =
      nlohmann::json::parse(R"({"auc": 0.75, "logloss": 0.25, "f1": null, "best_f1": {"f1": 0.5,
      "threshold": 0.125}, "train_rows": 10, "precision": null})");
  const std::string s = launch::TrainingSummary("lr", m, "out");
  EXPECT_NE(s.find("train lr: done; out/metrics.json"), std::string::npos) << s;
  EXPECT_NE(s.find("  AUC                    0.75\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  best F1                0.5\n"), std::string::npos) << s;
  EXPECT_NE(s.find("    at threshold         0.125\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("RMSE"), std::string::npos) << s;
  EXPECT_EQ(s.find("accuracy"), std::string::npos) << "absent figures are left out: " << s;
}

TEST(TrainingSummary, RankingMetricsBesidePopularity) {
  const auto m = nlohmann::json::parse(R"({"data": {"users": 3, "items": 2},
      "evaluation": {"full": {"itemcf": {"HR@10": 0.5}, "popularity": {"HR@10": 0.25}}},
      "coverage": {"itemcf": 0.75}})");
  const std::string s = launch::TrainingSummary("itemcf", m, "o");
  EXPECT_NE(s.find("  HR@10                  0.5 (popularity 0.25)\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  catalogue coverage     0.75\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  items                  2\n"), std::string::npos) << s;
}

TEST(TrainingSummary, EveryTrainingCommandPrintsItUnlessQuiet) {
  const fs::path dir = FreshDir("summary");
  const auto p = [&](const std::string& name) { return "'" + (dir / name).string() + "'"; };
  ASSERT_EQ(RunEcps(fmt::format("generate --out {} --users 200 --items 40", p("gen"))).exit_code,
            0);
  const std::string commands[][2] = {
      {"lr", fmt::format("lr --train {} --hash-bits 10", p("gen/impressions.libsvm"))},
      {"kmeans", fmt::format("kmeans --data {} --id-column user_id --features age,rating --k 3",
                             p("gen/users.csv"))},
      {"itemcf",
       fmt::format("itemcf --train {} --split leave-last-out", p("gen/interactions.csv"))},
  };
  for (const auto& [model, args] : commands) {
    SCOPED_TRACE(model);
    std::string out;
    auto r = RunEcps(fmt::format("train {} --local --out {}", args, p(model)), &out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(out.rfind(fmt::format("train {}: done; {}/metrics.json holds every figure\n", model,
                                    (dir / model).string()),
                        0),
              0u)
        << out;
    EXPECT_GE(std::count(out.begin(), out.end(), '\n'), 5) << out;
    r = RunEcps(fmt::format("train {} --local -q --out {}", args, p(model)), &out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(out, "");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::testing
