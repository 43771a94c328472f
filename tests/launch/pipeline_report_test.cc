// summary.md of the pipeline: each training stage states its privacy budget, or that it is
// not private; the CTR stage names its F1-best threshold and warns when the configured one
// called nothing positive.
#include "launch/pipeline_report.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/common/files.h"

namespace ecps::launch {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(PipelineReport, SummaryStatesEachTrainingStagesPrivacyBudget) {
  const fs::path out = testing::FreshDir("pipeline_report_privacy");
  Write(out / "ctr" / "metrics.json",
        R"({"auc": 0.7, "privacy": {"epsilon": 1.5, "delta": 1e-05, "noise_multiplier": 1.1,)"
        R"( "sample_rate": 0.01, "steps": 300, "clip": 1, "accountant": "rdp",)"
        R"( "conversion": "balle"}})");
  Write(out / "segment" / "metrics.json",
        R"({"users": 10, "privacy": {"epsilon": 2, "noise_multiplier": {"count": 3.5, "sum": 7.25}}})");
  Write(out / "recommend" / "metrics.json", R"({"data": {"users": 4}})");
  ASSERT_TRUE(WriteSummary(out.string(), {{"segment", "k-means", (out / "segment").string(), 1},
                                          {"recommend", "item-CF", (out / "recommend").string(), 1},
                                          {"ctr", "LR", (out / "ctr").string(), 1}})
                  .ok());
  std::ifstream in(out / "summary.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const auto segment = s.find("## segment"), recommend = s.find("## recommend"), ctr = s.find("## ctr");
  ASSERT_NE(segment, std::string::npos);
  ASSERT_NE(recommend, std::string::npos);
  ASSERT_NE(ctr, std::string::npos);
  const std::string seg = s.substr(segment, recommend - segment);
  const std::string rec = s.substr(recommend, ctr - recommend);
  const std::string lr = s.substr(ctr);
  EXPECT_NE(seg.find("| epsilon | 2 |"), std::string::npos) << seg;
  EXPECT_NE(seg.find("| noise_multiplier.count | 3.5 |"), std::string::npos) << seg;
  EXPECT_NE(seg.find("| noise_multiplier.sum | 7.25 |"), std::string::npos) << seg;
  EXPECT_NE(rec.find("not differentially private"), std::string::npos) << rec;
  EXPECT_NE(lr.find("| epsilon | 1.5 |"), std::string::npos) << lr;
  EXPECT_NE(lr.find("| steps | 300 |"), std::string::npos) << lr;
  EXPECT_NE(lr.find("| conversion | balle |"), std::string::npos) << lr;
  EXPECT_EQ(lr.find("not differentially private"), std::string::npos) << lr;
}

std::string CtrSummary(const fs::path& out, const std::string& metrics) {
  Write(out / "ctr" / "metrics.json", metrics);
  EXPECT_TRUE(WriteSummary(out.string(), {{"ctr", "LR", (out / "ctr").string(), 1}}).ok());
  std::ifstream in(out / "summary.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(PipelineReport, CtrNamesTheF1BestThresholdAndWarnsOfAnEmptyOne) {
  const fs::path out = testing::FreshDir("pipeline_report_threshold");
  const std::string best =
      R"("best_f1": {"threshold": 0.21, "precision": 0.4, "recall": 0.5, "f1": 0.444})";
  std::string s = CtrSummary(out, R"({"auc": 0.7, "threshold": 0.5, "recall": 0,)"
                                  R"( "predicted_positive_at_threshold": 0, )" + best + "}");
  EXPECT_NE(s.find("No evaluated example reaches the threshold 0.5"), std::string::npos) << s;
  EXPECT_NE(s.find("F1 is highest from threshold 0.21: precision 0.4, recall 0.5, F1 0.444"),
            std::string::npos)
      << s;
  s = CtrSummary(out, R"({"auc": 0.7, "threshold": 0.5, "recall": 0.3,)"
                      R"( "predicted_positive_at_threshold": 0.1, )" + best + "}");
  EXPECT_EQ(s.find("No evaluated example"), std::string::npos) << s;
  EXPECT_NE(s.find("F1 is highest from threshold 0.21"), std::string::npos) << s;
  fs::remove_all(out);
}

}  // namespace
}  // namespace ecps::launch
