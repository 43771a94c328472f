#include "datagen/synthetic_shop.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "worker/csv.h"

namespace ecps::datagen {
namespace {
namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::vector<std::string>> Rows(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(Slurp(p));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string_view> f;
    std::deque<std::string> scratch;
    EXPECT_TRUE(worker::SplitCsv(line, ',', &f, &scratch).ok());
    rows.emplace_back(f.begin(), f.end());
  }
  return rows;
}

class ShopTest : public ::testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("ecps_shop_" + std::to_string(::getpid()));
  void TearDown() override { fs::remove_all(dir_); }
};

TEST_F(ShopTest, SameSeedSameBytesOtherSeedOtherData) {
  ShopOptions o;
  o.users = 300;
  o.items = 60;
  ASSERT_TRUE(GenerateShop((dir_ / "a").string(), o).ok());
  ASSERT_TRUE(GenerateShop((dir_ / "b").string(), o).ok());
  o.seed = 43;
  ASSERT_TRUE(GenerateShop((dir_ / "c").string(), o).ok());
  for (const char* f : {"users.csv", "items.csv", "item_text.csv", "interactions.csv",
                        "impressions.libsvm", "featindex.txt"}) {
    EXPECT_EQ(Slurp(dir_ / "a" / f), Slurp(dir_ / "b" / f)) << f;
  }
  EXPECT_NE(Slurp(dir_ / "a" / "users.csv"), Slurp(dir_ / "c" / "users.csv"));
}

TEST_F(ShopTest, CountsAndPlantedStructure) {
  ShopOptions o;
  o.users = 1500;
  o.items = 200;
  auto s = GenerateShop(dir_.string(), o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto users = Rows(dir_ / "users.csv");
  auto truth = Rows(dir_ / "truth/user_segments.csv");
  ASSERT_EQ(users.size(), 1500u);
  ASSERT_EQ(truth.size(), 1500u);
  EXPECT_EQ(Rows(dir_ / "items.csv").size(), 200u);
  EXPECT_EQ(Rows(dir_ / "item_text.csv").size(), 200u);  // quoted descriptions split as CSV
  EXPECT_EQ(Rows(dir_ / "interactions.csv").size(), s->interactions);
  // Segments differ in the observable columns: mean purchase frequency of "loyal families"
  // (1) is far above that of "window shoppers" (3); ages of segment 0 are below segment 2's.
  std::map<int, std::pair<double, int>> freq, age;
  for (std::size_t i = 0; i < users.size(); ++i) {
    ASSERT_EQ(users[i][0], truth[i][0]);
    int seg = std::stoi(truth[i][1]);
    freq[seg].first += std::stod(users[i][3]);
    freq[seg].second++;
    age[seg].first += std::stod(users[i][1]);
    age[seg].second++;
  }
  auto mean = [](const std::pair<double, int>& p) { return p.first / p.second; };
  EXPECT_GT(mean(freq[1]), 5 * mean(freq[3]));
  EXPECT_LT(mean(age[0]) + 15, mean(age[2]));
  EXPECT_GT(s->click_rate, 0.03);
  EXPECT_LT(s->click_rate, 0.3);
  EXPECT_EQ(s->train_impressions + s->test_impressions, 1500u * o.impressions_per_user);
}

TEST_F(ShopTest, RefusesTinyShops) {
  ShopOptions o;
  o.users = 3;
  auto s = GenerateShop(dir_.string(), o);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("--users"), std::string::npos);
}

}  // namespace
}  // namespace ecps::datagen
