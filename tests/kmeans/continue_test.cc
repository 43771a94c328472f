// `train kmeans --init DIR` through the real binary: a run continues from an earlier run's
// centroids (the daily update of a segmentation). From a converged model on the same data it
// stops after one iteration with the same assignments; a model of other features or another k
// is refused naming the difference; a sealed model opens with the run's --encrypt-key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/common/run_ecps.h"
#include "tests/kmeans/kmeans_testing.h"

namespace ecps::testing {
namespace {

using kmtest::TempDir;

std::string Train(const TempDir& dir, const std::string& out, const std::string& extra) {
  return fmt::format("train kmeans --data {} --id-column user --features f0,f1,f2 --local "
                     "--quiet --out {} {}",
                     dir / "users.csv", dir / out, extra);
}

nlohmann::json Metrics(const TempDir& dir, const std::string& out) {
  return nlohmann::json::parse(kmtest::ReadFile(dir / (out + "/metrics.json")));
}

TEST(KMeansContinue, FromAConvergedModelOnTheSameDataOneIterationChangesNothing) {
  TempDir dir("continue");
  kmtest::WritePlanted(dir / "users.csv", kmtest::MakePlanted(3000, 3, 5, 3.0, 11));
  for (const std::string normalize : {"minmax", "zscore", "none"}) {
    const std::string first = "first-" + normalize, next = "next-" + normalize;
    auto r = RunEcps(Train(dir, first, "-k 5 --normalize " + normalize));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(Metrics(dir, first)["converged"].get<bool>());
    r = RunEcps(Train(dir, next, fmt::format("-k 5 --normalize {} --init {}", normalize,
                                             dir / first)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto m = Metrics(dir, next);
    EXPECT_EQ(m["iterations"], 1) << normalize;
    EXPECT_TRUE(m["converged"].get<bool>()) << normalize;
    EXPECT_EQ(kmtest::ReadFile(dir / (next + "/assignments.csv")),
              kmtest::ReadFile(dir / (first + "/assignments.csv")))
        << normalize;
    EXPECT_NEAR(m["inertia"].get<double>(), Metrics(dir, first)["inertia"].get<double>(),
                1e-9 * Metrics(dir, first)["inertia"].get<double>());
  }
}

TEST(KMeansContinue, AModelOfOtherFeaturesOrAnotherKIsRefused) {
  TempDir dir("continue-bad");
  kmtest::WritePlanted(dir / "users.csv", kmtest::MakePlanted(500, 3, 3, 3.0, 12));
  ASSERT_EQ(RunEcps(Train(dir, "first", "-k 3")).exit_code, 0);
  auto r = RunEcps(Train(dir, "k4", "-k 4 --init " + dir / "first"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the model has 3 clusters; this run has --k 4"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("train kmeans --data {} --id-column user --features f0,f1 -k 3 --local "
                          "--quiet --out {} --init {}",
                          dir / "users.csv", dir / "f2", dir / "first"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the model's features are f0,f1,f2; this run's are f0,f1"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "k4"));
  EXPECT_FALSE(std::filesystem::exists(dir / "f2"));
}

TEST(KMeansContinue, ASealedModelOpensWithTheRunsKey) {
  TempDir dir("continue-sealed");
  kmtest::WritePlanted(dir / "users.csv", kmtest::MakePlanted(500, 3, 3, 3.0, 13));
  kmtest::WriteFile(dir / "key", "0123456789abcdef0123456789abcdef");
  std::filesystem::permissions(dir / "key", std::filesystem::perms::owner_read |
                                                std::filesystem::perms::owner_write);
  const std::string key = "--encrypt-key " + dir / "key";
  ASSERT_EQ(RunEcps(Train(dir, "first", "-k 3 " + key)).exit_code, 0);
  auto r = RunEcps(Train(dir, "next", "-k 3 " + key + " --init " + dir / "first"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunEcps(Train(dir, "plain", "-k 3 --init " + dir / "first"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "plain"));
}

}  // namespace
}  // namespace ecps::testing
