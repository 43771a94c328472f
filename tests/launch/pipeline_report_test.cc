// summary.md of the pipeline: each training stage states its privacy budget, or that it is
// not private.
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

}  // namespace
}  // namespace ecps::launch
