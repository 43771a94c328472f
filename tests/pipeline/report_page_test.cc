// report.html from hand-made stage folders: partial or broken outputs give a page without
// the charts they would need, never a failure; paths and texts are escaped.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "launch/report/page.h"
#include "tests/pipeline/report_support.h"

namespace ecps::launch::report {
namespace {
namespace fs = std::filesystem;

fs::path Fresh(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / (name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(ReportPage, MissingOrBrokenFilesLeaveOutTheirChartsOnly) {
  const fs::path d = Fresh("report_page");
  // ctr without an evaluation: no curves.json, no best_f1; two epochs of training loss.
  Write(d / "ctr/metrics.json", R"({"auc": null, "train_rows": 10})");
  Write(d / "ctr/metrics.jsonl",
        "{\"epoch\":1,\"train_logloss\":0.6}\n{\"epoch\":2,\"train_logloss\":0.5}\n");
  Write(d / "seg<x>/metrics.json", "{not json");
  Write(d / "recommend/metrics.json", R"({"model": "itemcf", "evaluation": {"full": {}}})");
  const std::string html =
      RenderReportHtml({{"ctr", "LR", (d / "ctr").string(), 1.5},
                        {"segment", "k-means", (d / "seg<x>").string(), 0, false},
                        {"recommend", "CF", (d / "recommend").string(), 1}});
  EXPECT_NE(html.find("data-chart=\"loss\""), std::string::npos);
  EXPECT_EQ(html.find("data-chart=\"roc\""), std::string::npos);
  EXPECT_EQ(html.find("highest F1"), std::string::npos);
  EXPECT_EQ(html.find("data-chart=\"rec-full\""), std::string::npos);
  EXPECT_NE(html.find("metrics.json is unreadable"), std::string::npos);
  EXPECT_NE(html.find("seg&lt;x&gt;"), std::string::npos);
  EXPECT_EQ(html.find("seg<x>"), std::string::npos);
  EXPECT_NE(html.find("Not run this time"), std::string::npos);
  EXPECT_NE(html.find("<td>earlier run</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>2.50</td>"), std::string::npos) << "the total of the stages that ran";
  fs::remove_all(d);
}

// The F1-best threshold beside the configured one, with the warning when the configured one
// calls nothing positive; the share called positive comes from curves.json's marked counts.
TEST(ReportPage, ThresholdTableAndWarning) {
  const fs::path d = Fresh("report_threshold");
  Write(d / "ctr/metrics.json",
        R"({"auc": 0.75, "threshold": 0.5, "precision": null, "recall": 0, "f1": null,)"
        R"( "predicted_positive_at_threshold": 0,)"
        R"( "best_f1": {"threshold": 0.2, "precision": 0.4, "recall": 0.5, "f1": 0.444}})");
  Write(d / "ctr/curves.json",
        R"({"positives": 2, "negatives": 2, "points": {"threshold": [0.8, 0.4, 0.35, 0.1],)"
        R"( "tp": [1, 1, 2, 2], "fp": [0, 1, 1, 2]}, "calibration": {"mean_score": [0.225, 0.6],)"
        R"( "positive_rate": [0.5, 0.5], "count": [2, 2]}, "marked": [{"name": "threshold",)"
        R"( "threshold": 0.5, "tp": 0, "fp": 0}, {"name": "best_f1", "threshold": 0.2, "tp": 2,)"
        R"( "fp": 1}]})");
  const std::string html = RenderReportHtml({{"ctr", "LR", (d / "ctr").string(), 1}});
  EXPECT_NE(html.find("No evaluated example reaches the threshold 0.500"), std::string::npos);
  EXPECT_NE(html.find("calls 75.0% of the examples positive"), std::string::npos) << "(2 + 1) / 4";
  EXPECT_NE(html.find("<td>configured (--threshold)</td><td>0.0%</td><td>undefined</td>"),
            std::string::npos);
  EXPECT_NE(
      html.find("<td>highest F1</td><td>75.0%</td><td>0.4000</td><td>0.5000</td><td>0.4440</td>"),
      std::string::npos);
  for (const char* chart : {"roc", "pr", "calibration", "gain", "lift"}) {
    EXPECT_NE(html.find(std::string("data-chart=\"") + chart + "\""), std::string::npos) << chart;
  }
  EXPECT_NE(html.find("ROC curve (AUC 0.7500)"), std::string::npos);
  EXPECT_NE(html.find("best F1 (t = 0.2)"), std::string::npos);
  fs::remove_all(d);
}

// The segment stage's dendrogram from hierarchy.json: k - 1 = 2 links, the descriptions as
// escaped tooltips; none without the file or with a broken one.
TEST(ReportPage, SegmentHierarchyIsDrawnWhenItsFileIsThere) {
  const fs::path d = Fresh("report_hierarchy");
  for (const char* stage : {"with", "without", "broken"}) {
    Write(d / stage / "metrics.json", R"({"k": 3, "features": ["a"]})");
  }
  const std::string nodes =
      R"({"id": 0, "height": 0, "share": 0.5, "description": "segment 0: a <b> & 'c'"},)"
      R"( {"id": 1, "height": 0, "share": 0.3, "description": "segment 1"},)"
      R"( {"id": 2, "height": 0, "share": 0.2, "description": "segment 2"},)"
      R"( {"id": 3, "children": [1, 2], "height": 0.4, "share": 0.5, "description": "1+2"},)"
      R"( {"id": 4, "children": [0, 3], "height": 1.5, "share": 1, "description": "all"})";
  Write(d / "with/hierarchy.json",
        R"({"linkage": "ward", "segments": 3, "nodes": [)" + nodes + "]}");
  Write(d / "broken/hierarchy.json",
        R"({"nodes": [{"id": 0}, {"id": 1, "children": [1, 0], "height": 1}]})");
  auto page = [&](const char* stage) {
    return RenderReportHtml({{"segment", "k-means", (d / stage).string(), 1}});
  };
  const std::string html = page("with");
  const std::string svg = ecps::testing::ChartSvg(html, "hierarchy");
  ASSERT_NE(svg, "") << html;
  EXPECT_EQ(ecps::testing::Count(svg, "class=\"mark series link\""), 2u);
  EXPECT_NE(svg.find("<title>segment 0: a &lt;b&gt; &amp; &#39;c&#39;</title>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find(">0 (50%)</text>"), std::string::npos) << "leaves: segment id and share";
  EXPECT_NE(svg.find(">1.5</text>"), std::string::npos) << "the root's height on the y axis";
  EXPECT_NE(svg.find("<title>all</title>"), std::string::npos);
  for (const char* stage : {"without", "broken"}) {
    EXPECT_EQ(page(stage).find("data-chart=\"hierarchy\""), std::string::npos) << stage;
  }
  fs::remove_all(d);
}

}  // namespace
}  // namespace ecps::launch::report
