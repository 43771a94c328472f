// `ecps train mf` under mpirun against --local.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/mf/mf_data.h"

namespace {

using namespace ecps::testing_mf;

int Shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Runs `common` with --local and 1 worker into dir/local, and under mpirun -np 4 (1 server,
// 2 workers) into dir/np4.
void RunLocalAndMpi(const fs::path& dir, const std::string& common) {
  ASSERT_EQ(Shell(fmt::format("timeout 120 {} --local --workers 1 --out {}/local > {}/local.log 2>&1",
                              common, dir.string(), dir.string())),
            0)
      << Slurp(dir / "local.log");
  const std::string cmd = fmt::format(
      "OMPI_MCA_pml=ob1 timeout 180 mpirun --allow-run-as-root --oversubscribe -np 4 {} "
      "--servers 1 --out {}/np4 > {}/np4.log 2>&1",
      common, dir.string(), dir.string());
  ASSERT_EQ(Shell(cmd), 0) << cmd << "\n" << Slurp(dir / "np4.log");
}

// mpirun -np 4 gives the recommendations of --local with 1 worker.
TEST(MfMpi, MpirunGivesTheSingleNodeRecommendations) {
  const auto dir = TempDir("mpi");
  const auto file = WritePlanted(dir / "planted.csv", 200, 4, 20, 8, 9);
  const std::string common = fmt::format(
      "{} train mf --train {} --factors 6 --iterations 6 --split leave-one-out -n 5 --quiet",
      ECPS_BINARY, file);
  ASSERT_NO_FATAL_FAILURE(RunLocalAndMpi(dir, common));
  EXPECT_EQ(Slurp(dir / "np4/recommendations.csv"), Slurp(dir / "local/recommendations.csv"));
  EXPECT_GT(Slurp(dir / "np4/recommendations.csv").size(), 1000u);
}

// --task rating: mpirun -np 4 gives the recommendations and held-out RMSE of --local.
TEST(MfMpi, MpirunGivesTheSingleNodeRatingModel) {
  const auto dir = TempDir("mpi-rating");
  const auto file = WritePlantedRatings(dir / "ratings.csv", 150, 60, 2, 15, 0.1, 9);
  const std::string common = fmt::format(
      "{} train mf --train {} --task rating --factors 3 --iterations 6 --split holdout -n 5 --quiet",
      ECPS_BINARY, file);
  ASSERT_NO_FATAL_FAILURE(RunLocalAndMpi(dir, common));
  EXPECT_EQ(Slurp(dir / "np4/recommendations.csv"), Slurp(dir / "local/recommendations.csv"));
  const auto a = nlohmann::json::parse(Slurp(dir / "np4/metrics.json"))["rating"];
  const auto b = nlohmann::json::parse(Slurp(dir / "local/metrics.json"))["rating"];
  EXPECT_EQ(a["ratings"], b["ratings"]);
  EXPECT_GT(a["ratings"].get<double>(), 300);
  EXPECT_NEAR(a["mf"]["rmse"].get<double>(), b["mf"]["rmse"].get<double>(), 1e-9);
}

}  // namespace
