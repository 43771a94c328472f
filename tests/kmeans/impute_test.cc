// `train kmeans --impute` and `segment` through the real binary: the filled value is the
// training column's mean or lower median (the same with 1 or 3 workers), segment fills a new
// file's empty field with it (the same line as the value written in), drop counts the rows it
// skips, a model of format version 1 still segments, and data without empty fields gives the
// bytes of a run without --impute.
#include <algorithm>
#include <numeric>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/common/model_file.h"
#include "models/kmeans/model.h"
#include "tests/common/run_ecps.h"
#include "tests/kmeans/kmeans_testing.h"

namespace ecps::testing {
namespace {

using kmtest::TempDir;

constexpr std::size_t kRows = 400;

// Planted data with f0 empty on every 7th row and f1 on every 11th (never both on row 0).
struct Holey {
  kmtest::Planted p;
  std::string csv;
  std::vector<std::vector<double>> present;  // per column: the values written
  std::size_t rows_with_missing = 0;
};

bool Missing(std::size_t i, std::size_t f) {
  return (f == 0 && i % 7 == 3) || (f == 1 && i % 11 == 5);
}

Holey MakeHoley() {
  Holey h;
  h.p = kmtest::MakePlanted(kRows, 3, 3, 3.0, 21);
  h.present.resize(3);
  h.csv = "user,f0,f1,f2\n";
  for (std::size_t i = 0; i < kRows; ++i) {
    h.csv += fmt::format("u{}", i);
    bool any = false;
    for (std::size_t f = 0; f < 3; ++f) {
      if (Missing(i, f)) {
        h.csv += ",";
        any = true;
      } else {
        h.csv += fmt::format(",{}", h.p.x[i][f]);
        h.present[f].push_back(h.p.x[i][f]);
      }
    }
    h.rows_with_missing += any ? 1 : 0;
    h.csv += "\n";
  }
  return h;
}

double LowerMedian(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

EcpsRun Train(const TempDir& dir, const std::string& out, const std::string& extra,
              const std::string& data = "users.csv") {
  return RunEcps(fmt::format("train kmeans --data {} --id-column user --features f0,f1,f2 -k 3 "
                             "--local --quiet --out {} {}",
                             dir / data, dir / out, extra));
}

nlohmann::json Impute(const TempDir& dir, const std::string& out) {
  return nlohmann::json::parse(kmtest::ReadFile(dir / (out + "/metrics.json")))["impute"];
}

// Segments `csv` with the model of `out`; returns the output ("" and a failure on an error).
std::string Segment(const TempDir& dir, const std::string& out, const std::string& csv) {
  kmtest::WriteFile(dir / "new.csv", csv);
  const auto r = RunEcps(fmt::format("segment --model {} --data {} --out {}", dir / out,
                                     dir / "new.csv", dir / "seg.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? kmtest::ReadFile(dir / "seg.csv") : std::string();
}

TEST(KMeansImpute, MissingIsAnErrorByDefault) {
  TempDir dir("impute-none");
  kmtest::WriteFile(dir / "users.csv", MakeHoley().csv);
  auto r = Train(dir, "none", "--workers 1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("users.csv:5: column \"f0\": missing value"), std::string::npos) << r.err;
  r = Train(dir, "none", "--impute none --workers 3");  // the first error of any worker
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("\": missing value"), std::string::npos) << r.err;
}

TEST(KMeansImpute, MeanAndMedianAreTheTrainingColumnsAndSegmentAppliesThem) {
  TempDir dir("impute-stats");
  const Holey h = MakeHoley();
  kmtest::WriteFile(dir / "users.csv", h.csv);
  for (const std::string mode : {"mean", "median", "zero"}) {
    for (const int workers : {1, 3}) {
      const std::string out = fmt::format("{}-{}", mode, workers);
      const auto r = Train(dir, out, fmt::format("--impute {} --workers {}", mode, workers));
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const auto m = Impute(dir, mode + "-1");
    EXPECT_EQ(m, Impute(dir, mode + "-3")) << mode;
    EXPECT_EQ(kmtest::ReadFile(dir / (mode + "-1/assignments.csv")),
              kmtest::ReadFile(dir / (mode + "-3/assignments.csv")))
        << mode;
    EXPECT_EQ(m["mode"], mode);
    EXPECT_EQ(m["missing"]["f0"], (kRows + 3) / 7);
    EXPECT_EQ(m["missing"]["f1"], (kRows + 5) / 11);
    EXPECT_EQ(m["missing"]["f2"], 0);
    EXPECT_EQ(m["rows_dropped"], 0);
    std::vector<double> want(3);
    for (std::size_t f = 0; f < 3; ++f) {
      const auto& v = h.present[f];
      if (mode == "mean") want[f] = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
      if (mode == "median") want[f] = LowerMedian(v);
      const double got = m["values"][fmt::format("f{}", f)].get<double>();
      if (mode == "mean") {
        // Exact fixed-point sums: within 2^-40 of the values' scale of the naive sum.
        EXPECT_NEAR(got, want[f], 1e-9 * std::fabs(want[f])) << f;
      } else {
        EXPECT_EQ(got, want[f]) << mode << " f" << f;  // a data value (or 0), exactly
      }
    }
    // A new user with f0 empty lands where the same user with the filled value does.
    const double filled = m["values"]["f0"].get<double>();
    const std::string row = fmt::format("{},{}", h.p.x[1][1], h.p.x[1][2]);
    const std::string with_hole = Segment(dir, mode + "-1", "user,f0,f1,f2\nn1,," + row + "\n");
    const std::string written =
        Segment(dir, mode + "-1", fmt::format("user,f0,f1,f2\nn1,{},{}\n", filled, row));
    EXPECT_FALSE(with_hole.empty());
    EXPECT_EQ(with_hole, written) << mode;
  }
}

TEST(KMeansImpute, DropCountsTheRowsItSkips) {
  TempDir dir("impute-drop");
  const Holey h = MakeHoley();
  kmtest::WriteFile(dir / "users.csv", h.csv);
  ASSERT_EQ(Train(dir, "drop", "--impute drop --workers 3").exit_code, 0);
  const auto m = Impute(dir, "drop");
  EXPECT_EQ(m["rows_dropped"], h.rows_with_missing);
  EXPECT_EQ(m["missing"]["f0"], (kRows + 3) / 7);
  const auto all = nlohmann::json::parse(kmtest::ReadFile(dir / "drop/metrics.json"));
  EXPECT_EQ(all["users"], kRows - h.rows_with_missing);
  const std::string seg = Segment(dir, "drop", "user,f0,f1,f2\nn1,,1,2\nn2,1,1,2\n");
  EXPECT_EQ(seg.find("n1,"), std::string::npos) << seg;
  EXPECT_NE(seg.find("n2,"), std::string::npos) << seg;
}

TEST(KMeansImpute, DataWithoutHolesGivesTheBytesOfARunWithout) {
  TempDir dir("impute-same");
  kmtest::WritePlanted(dir / "users.csv", kmtest::MakePlanted(kRows, 3, 3, 3.0, 22));
  ASSERT_EQ(Train(dir, "plain", "").exit_code, 0);
  for (const std::string mode : {"mean", "median", "zero", "drop"}) {
    ASSERT_EQ(Train(dir, mode, "--impute " + mode).exit_code, 0);
    for (const std::string file : {"assignments.csv", "profiles.csv"}) {
      EXPECT_EQ(kmtest::ReadFile(dir / (mode + "/" + file)),
                kmtest::ReadFile(dir / ("plain/" + file)))
          << mode << " " << file;
    }
  }
}

// A model saved as format version 1 (the model without its imputation).
struct ModelV1 {
  models::kmeans::KMeansModel* m;
  template <class A>
  void serialize(A& ar) { m->SerializeV1(ar); }
};

TEST(KMeansImpute, AVersion1ModelStillSegmentsWithNoImputation) {
  TempDir dir("impute-v1");
  kmtest::WritePlanted(dir / "users.csv", kmtest::MakePlanted(kRows, 3, 3, 3.0, 23));
  ASSERT_EQ(Train(dir, "new", "").exit_code, 0);
  auto model = models::kmeans::LoadKMeansModel(dir / "new/model.bin");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::filesystem::create_directories(dir / "old");
  ModelV1 v1{&model.value()};
  ASSERT_TRUE(models::SaveModel(dir / "old/model.bin", "kmeans", 1, v1).ok());
  const std::string data = "user,f0,f1,f2\nn1,10,20,30\nn2,50,60,70\n";
  const std::string old_out = Segment(dir, "old", data);
  EXPECT_FALSE(old_out.empty());
  EXPECT_EQ(old_out, Segment(dir, "new", data));
  kmtest::WriteFile(dir / "new.csv", "user,f0,f1,f2\nn1,,20,30\n");
  const auto r = RunEcps(fmt::format("segment --model {} --data {}", dir / "old", dir / "new.csv"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing value"), std::string::npos) << r.err;
}

TEST(KMeansImpute, PrivateRunsRefuseMeanAndMedian) {
  TempDir dir("impute-dp");
  kmtest::WriteFile(dir / "users.csv", MakeHoley().csv);
  const std::string dp = "--dp-epsilon 1 --dp-bounds f0=0:100,f1=0:100,f2=0:100 ";
  for (const std::string mode : {"mean", "median"}) {
    const auto r = Train(dir, mode, dp + "--impute " + mode);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--impute: not available under --dp-epsilon"), std::string::npos);
  }
  const auto r = Train(dir, "zero", dp + "--impute zero");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace ecps::testing
