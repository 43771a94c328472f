// DP k-means through the real `ecps train kmeans --local` on `ecps generate` data: the
// privacy report, the model in the bounds' box with the bounds' normalisation, an outlier
// beyond the bounds that changes nothing (clipping), and the refusals of bad options (exit 2).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/kmeans/model.h"
#include "tests/common/run_ecps.h"

namespace ecps {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFeatures = "age,purchase_frequency,rating,duration,avg_order_value";
constexpr const char* kBounds =
    "age=18:80,purchase_frequency=0:20,rating=1:5,duration=0:60,avg_order_value=0:400";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class DpKMeansRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / fmt::format("ecps_kmeans_dp_{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const auto gen = testing::RunEcps(fmt::format("generate --users 3000 --out {}", (dir_ / "gen").string()));
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // `train kmeans` on `data` into dir_/out with `extra` options.
  static testing::EcpsRun Train(const std::string& data, const std::string& out, const std::string& extra) {
    return testing::RunEcps(fmt::format(
        "train kmeans --local --quiet --data {} --id-column user_id --features {} --k 4 --out {} {}",
        data, kFeatures, (dir_ / out).string(), extra));
  }
  static std::string Users() { return (dir_ / "gen/users.csv").string(); }

  static fs::path dir_;
};
fs::path DpKMeansRun::dir_;

TEST_F(DpKMeansRun, WritesThePrivacyReportAndAModelInTheBoundsBox) {
  const auto run = Train(Users(), "dp", fmt::format("--dp-epsilon 1 --dp-bounds {} --dp-seed 5", kBounds));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("NOT differentially private"), std::string::npos) << run.err;
  const auto m = nlohmann::json::parse(Slurp(dir_ / "dp/metrics.json"));
  ASSERT_TRUE(m.contains("privacy"));
  const auto& p = m["privacy"];
  EXPECT_LE(p["epsilon"].get<double>(), 1.0);
  EXPECT_GT(p["epsilon"].get<double>(), 1.0 - 1e-5);
  EXPECT_EQ(p["delta"].get<double>(), 1e-6);
  EXPECT_EQ(p["steps"].get<int>(), 11);  // the histogram initialisation and 10 iterations
  EXPECT_EQ(p["iterations"].get<int>(), 10);
  EXPECT_EQ(m["init"], "dp-histogram");
  EXPECT_EQ(p["accountant"], "rdp");
  EXPECT_EQ(p["conversion"], "balle");
  EXPECT_GT(p["noise_multiplier_count"].get<double>(), p["noise_multiplier_sum"].get<double>());
  EXPECT_EQ(p["bounds"]["age"], nlohmann::json::array({18.0, 80.0}));
  for (const char* key : {"users", "inertia", "silhouette", "davies_bouldin", "rows_read"}) {
    EXPECT_FALSE(m.contains(key)) << key;
  }
  EXPECT_EQ(m["iterations"], 10);
  // metrics.jsonl: ε spent per iteration, increasing to the total.
  std::istringstream lines(Slurp(dir_ / "dp/metrics.jsonl"));
  std::string line;
  double last = 0;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_GT(j["epsilon_spent"].get<double>(), last);
    EXPECT_FALSE(j.contains("inertia"));
    last = j["epsilon_spent"].get<double>();
    ++n;
  }
  EXPECT_EQ(n, 10);
  EXPECT_DOUBLE_EQ(last, p["epsilon"].get<double>());
  // The normalisation is the bounds', never the data's min/max; centroids lie in the box.
  auto model = models::kmeans::LoadKMeansModel((dir_ / "dp/model.bin").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->normalizer.shift, (std::vector<double>{18, 0, 1, 0, 0}));
  EXPECT_EQ(model->normalizer.scale, (std::vector<double>{62, 20, 4, 60, 400}));
  for (double c : model->centroids) {
    EXPECT_GE(c, 0.0);
    EXPECT_LE(c, 1.0);
  }
  EXPECT_EQ(model->score, "distance");
}

TEST_F(DpKMeansRun, AnOutlierBeyondTheBoundsIsClippedAndLeavesNoTrace) {
  // The same users, one with age 1e6 in one file and at the bound 80 in the other: with the
  // same test noise the models are the same bytes (the data's maximum reaches nothing).
  std::string csv = Slurp(Users());
  const auto first = csv.find('\n') + 1;
  const auto second = csv.find('\n', first);
  std::string row = csv.substr(first, second - first);  // user_id,age,...
  const auto c1 = row.find(','), c2 = row.find(',', c1 + 1);
  for (const char* age : {"1000000", "80"}) {
    const std::string changed = row.substr(0, c1 + 1) + age + row.substr(c2);
    std::ofstream(dir_ / fmt::format("users-{}.csv", age), std::ios::binary)
        << csv.substr(0, first) << changed << csv.substr(second);
    const auto run = Train((dir_ / fmt::format("users-{}.csv", age)).string(), fmt::format("age-{}", age),
                           fmt::format("--dp-epsilon 2 --dp-bounds {} --dp-seed 9", kBounds));
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  EXPECT_EQ(Slurp(dir_ / "age-1000000/model.bin"), Slurp(dir_ / "age-80/model.bin"));
  EXPECT_EQ(Slurp(dir_ / "age-1000000/profiles.csv"), Slurp(dir_ / "age-80/profiles.csv"));
  // Without DP the outlier moves the normalisation.
  ASSERT_EQ(Train((dir_ / "users-1000000.csv").string(), "plain", "").exit_code, 0);
  auto plain = models::kmeans::LoadKMeansModel((dir_ / "plain/model.bin").string());
  ASSERT_TRUE(plain.ok());
  EXPECT_GT(plain->normalizer.scale[0], 1e5);
}

TEST_F(DpKMeansRun, EncodedFeaturesNeedNoBoundsAndManyFeaturesStartUniformly) {
  // 12 numeric features, a one-hot column of 2 and an ordinal one of 3 (15 outputs): no
  // histogram grid (2^15 cells exceed its limit), so uniform initial centroids and exactly
  // --max-iter steps; one-hot outputs normalised by [0, 1], the ordinal one by [0, 2].
  std::string csv = "id";
  std::string names, bounds;
  for (int f = 0; f < 12; ++f) {
    csv += fmt::format(",x{}", f);
    names += fmt::format("x{},", f);
    bounds += fmt::format("{}x{}=0:10", f ? "," : "", f);
  }
  csv += ",colour,size\n";
  for (int u = 0; u < 300; ++u) {
    csv += fmt::format("u{}", u);
    for (int f = 0; f < 12; ++f) csv += fmt::format(",{}", (u * (f + 3)) % 11);
    csv += u % 2 ? ",red,S\n" : ",blue,L\n";
  }
  std::ofstream(dir_ / "wide.csv", std::ios::binary) << csv;
  const auto run = testing::RunEcps(fmt::format(
      "train kmeans --local --quiet --data {} --id-column id --features {}colour,size "
      "--one-hot 'colour=red|blue' --ordinal 'size=S|M|L' --k 3 --max-iter 4 --out {} "
      "--dp-epsilon 8 --dp-bounds {} --dp-seed 2",
      (dir_ / "wide.csv").string(), names, (dir_ / "wide").string(), bounds));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto m = nlohmann::json::parse(Slurp(dir_ / "wide/metrics.json"));
  EXPECT_EQ(m["init"], "uniform-in-bounds");
  EXPECT_EQ(m["privacy"]["steps"], 4);
  auto model = models::kmeans::LoadKMeansModel((dir_ / "wide/model.bin").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ(model->d, 15u);  // 12 + colour=red, colour=blue + size
  for (std::size_t f = 0; f < 12; ++f) EXPECT_EQ(model->normalizer.scale[f], 10.0);
  EXPECT_EQ(model->normalizer.shift[12], 0.0);
  EXPECT_EQ(model->normalizer.scale[12], 1.0);
  EXPECT_EQ(model->normalizer.scale[13], 1.0);
  EXPECT_EQ(model->normalizer.scale[14], 2.0);
}

TEST_F(DpKMeansRun, BadPrivacyOptionsAreRefusedNamingOptionAndFeature) {
  struct Case {
    std::string extra, expect;
  };
  const std::string ok_rest = "purchase_frequency=0:20,rating=1:5,duration=0:60,avg_order_value=0:400";
  const Case cases[] = {
      {"--dp-epsilon 1 --dp-bounds " + ok_rest, "--dp-bounds: feature \"age\" has no bounds"},
      {"--dp-epsilon 1 --dp-bounds age=80:18," + ok_rest, "--dp-bounds: feature \"age\""},
      {"--dp-epsilon 1 --dp-bounds age=nan:80," + ok_rest, "--dp-bounds: feature \"age\""},
      {"--dp-epsilon 1 --dp-bounds age=18:inf," + ok_rest, "--dp-bounds: feature \"age\""},
      {fmt::format("--dp-bounds {}", kBounds), "--dp-bounds: only with --dp-epsilon"},
      {fmt::format("--dp-epsilon 1 --dp-bounds {} --tol 0.01", kBounds), "--tol"},
      {fmt::format("--dp-epsilon 1 --dp-bounds {} --normalize zscore", kBounds), "--normalize"},
      {fmt::format("--dp-epsilon 1e-9 --dp-bounds {}", kBounds), "--dp-epsilon"},
      {fmt::format("--dp-epsilon 1 --dp-bounds {} --dp-count-share 1", kBounds), "--dp-count-share"},
      {fmt::format("--dp-epsilon -1 --dp-bounds {}", kBounds), "--dp-epsilon"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string out = fmt::format("bad-{}", i++);
    const auto run = Train(Users(), out, c.extra);
    EXPECT_EQ(run.exit_code, 2) << c.extra << "\n" << run.err;
    EXPECT_NE(run.err.find(c.expect), std::string::npos) << c.extra << "\n" << run.err;
    EXPECT_FALSE(fs::exists(dir_ / out)) << c.extra;
  }
}

}  // namespace
}  // namespace ecps
