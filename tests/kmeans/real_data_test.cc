// The k-means job on the shared real datasets (../shared/data): the fraud sample's risk-score
// AUC is reported and equals the AUC of the written scores; the online-shoppers sessions give
// profiles in original units. Without ../shared these tests are skipped (see shared_data.h).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/common/binary_metrics.h"
#include "tests/common/shared_data.h"
#include "tests/kmeans/kmeans_testing.h"
#include "worker/csv.h"

namespace ecps {
namespace {

TEST(KMeansRealData, FraudSampleRiskScoreAuc) {
  ECPS_SHARED_DATA_OR_SKIP(data, "creditcard-fraud-sample/creditcard_sample.csv");
  const std::string path = data.string();
  kmtest::TempDir dir("fraud");
  auto o = kmtest::Options(path, dir / "out", 0, 8);
  o.columns.id_column = "";  // the unnamed pandas index
  o.columns.features.clear();
  for (int i = 1; i <= 28; ++i) o.columns.features.push_back(fmt::format("V{}", i));
  o.columns.features.push_back("Amount");
  o.columns.label_column = "Class";
  o.anomaly_scores = true;
  auto r = kmtest::RunJob(o, 1, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const auto& m = r.result.metrics;
  EXPECT_EQ(m["users"].get<int>(), 1722);
  EXPECT_EQ(m["positives"].get<int>(), 492);
  // Recompute the AUC from assignments.csv and the file's labels.
  std::map<std::string, int> label;
  std::istringstream in(kmtest::ReadFile(path));
  std::string line;
  std::getline(in, line);
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  while (std::getline(in, line)) {
    ASSERT_TRUE(worker::SplitCsv(line, ',', &f, &scratch).ok());
    label[std::string(f.front())] = std::stoi(std::string(f.back()));
  }
  std::vector<double> scores, dists;
  std::vector<int> labels;
  std::istringstream a(kmtest::ReadFile(dir / "out/assignments.csv"));
  std::getline(a, line);
  while (std::getline(a, line)) {
    ASSERT_TRUE(worker::SplitCsv(line, ',', &f, &scratch).ok());
    labels.push_back(label.at(std::string(f[0])));
    dists.push_back(std::stod(std::string(f[2])));
    scores.push_back(std::stod(std::string(f[3])));
  }
  ASSERT_EQ(labels.size(), 1722u);
  const double auc = models::ExactAuc(models::ScoreCounts::From(scores, labels));
  EXPECT_NEAR(m["roc_auc"].get<double>(), auc, 1e-12);
  EXPECT_NEAR(m["roc_auc_by_score"]["distance"].get<double>(),
              models::ExactAuc(models::ScoreCounts::From(dists, labels)), 1e-12);
  std::cout << "fraud sample, k=8 minmax: ROC AUC relative score " << m["roc_auc"] << ", distance "
            << m["roc_auc_by_score"]["distance"] << "\n";
}

TEST(KMeansRealData, OnlineShoppersProfiles) {
  ECPS_SHARED_DATA_OR_SKIP(data, "online-shoppers-intention/online_shoppers_intention.csv");
  const std::string path = data.string();
  kmtest::TempDir dir("shoppers");
  auto o = kmtest::Options(path, dir / "out", 0, 5);
  o.columns.id_column = "@line";  // sessions have no id: the line number is one
  o.columns.features = {"Administrative", "Administrative_Duration", "Informational", "Informational_Duration",
                        "ProductRelated", "ProductRelated_Duration", "BounceRates in %", "ExitRates in %",
                        "PageValues", "SpecialDay (probability)", "VisitorType", "Weekend"};
  o.columns.one_hot = {"VisitorType=Returning_Visitor|New_Visitor|Other"};
  o.columns.ordinal = {"Weekend=FALSE|TRUE"};
  auto r = kmtest::RunJob(o, 1, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.result.metrics["users"].get<int>(), 12330);
  const auto profiles = nlohmann::json::parse(kmtest::ReadFile(dir / "out/profiles.json"));
  ASSERT_EQ(profiles["segments"].size(), 5u);
  double share = 0;
  for (const auto& s : profiles["segments"]) {
    share += s["share"].get<double>();
    const double dur = s["centroid"]["ProductRelated_Duration"].get<double>();
    EXPECT_GE(dur, 0.0);  // original units (seconds), not the [0, 1] of min-max
    EXPECT_LE(dur, 63973.6);
  }
  EXPECT_NEAR(share, 1.0, 1e-12);
  EXPECT_NEAR(profiles["overall_mean"]["ProductRelated_Duration"].get<double>(), 1194.7, 0.1);
  const auto assign = kmtest::ReadAssignments(dir / "out/assignments.csv");
  EXPECT_EQ(assign.count("2"), 1u);  // ids are line numbers 2..12331
  EXPECT_EQ(assign.count("12331"), 1u);
}

}  // namespace
}  // namespace ecps
