// A feature value whose square would overflow, through the real `ecps train kmeans`: refused
// with file:line and the column (exit 2), no output folder left behind.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/common/run_ecps.h"

namespace ecps {
namespace {

TEST(KMeansNumbers, HugeFeatureValueIsRefusedWithFileLineAndColumn) {
  // Unchecked, such a value ends in exit 0 with every user in one cluster at distance inf.
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("ecps_kmeans_numbers_{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string csv = "user,a,b\n";
  for (int u = 1; u <= 100; ++u) csv += fmt::format("u{},{},{}\n", u, u % 10, u == 40 ? "1e300" : std::to_string(u % 7));
  const std::string path = (dir / "users.csv").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(csv.data(), 1, csv.size(), f);
    std::fclose(f);
  }
  const auto run = testing::RunEcps(fmt::format(
      "train kmeans --local --quiet --data {} --id-column user --features a,b --k 3 --out {}", path,
      (dir / "out").string()));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(path + ":41: column \"b\": \"1e300\" is beyond the limit on data values (|x| <= 1e+15)"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ecps
