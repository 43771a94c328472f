// itemcf --item-text through the real binary: an item that only the text file names (no
// interactions) gets text neighbours of its own category in the model (`ecps similar`), is
// recommended through --content-blend, and the lists do not depend on the worker count nor
// on a resume from a checkpoint; bytes that are not UTF-8 are counted; a missing text column,
// a repeated item, an out-of-range --text-weight and usercf are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

// A phone's text, for an item the interactions never name.
constexpr const char* kColdRow =
    "i99999,new wireless smartphone,\"A slim smartphone, unlocked and 5G, for calls, photos and "
    "travel\"\n";

class ItemText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(FreshDir("cf_item_text"));
    const auto gen = RunEcps(fmt::format("generate --out {} --users 400 --items 120 --seed 5",
                                         Path("shop")));
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    WriteBytes(*dir_ / "text.csv", ReadBytes(*dir_ / "shop/item_text.csv") + kColdRow);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& name) { return "'" + (*dir_ / name).string() + "'"; }
  // Runs `train itemcf` on the shop into `out` with `extra` options.
  static EcpsRun Train(const std::string& out, const std::string& extra) {
    return RunEcps(fmt::format("train itemcf --train {} --local --quiet --split leave-last-out "
                               "--out {} {}",
                               Path("shop/interactions.csv"), Path(out), extra));
  }
  // Category of each item of the shop's items.csv.
  static std::map<std::string, std::string> Categories() {
    std::map<std::string, std::string> cat;
    std::istringstream in(ReadBytes(*dir_ / "shop/items.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const auto a = line.find(','), b = line.find(',', a + 1);
      cat[line.substr(0, a)] = line.substr(a + 1, b - a - 1);
    }
    return cat;
  }
  static fs::path* dir_;
};
fs::path* ItemText::dir_ = nullptr;

TEST_F(ItemText, ColdItemGetsTextNeighboursAndIsRecommended) {
  const auto r = Train("text", fmt::format("--item-text {} --text-columns title,description "
                                           "--content-blend 0.7",
                                           Path("text.csv")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string out;
  const auto s = RunEcps(fmt::format("similar --model {} --item i99999 -n 5", Path("text")), &out);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.err.find("cold item"), std::string::npos) << s.err;
  // The five nearest are phones: "calls, photos and travel" is in every phones item's text
  // and no other's (one item in seven takes its noun from another category).
  const auto cat = Categories();
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "item,score");
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    EXPECT_EQ(cat.at(line.substr(0, line.find(','))), "phones") << line;
  }
  EXPECT_EQ(rows, 5);
  // The batch form flags the cold item's rows as content neighbours (text here, no attributes).
  WriteBytes(*dir_ / "cold.txt", "i99999\n");
  std::string batch;
  ASSERT_EQ(RunEcps(fmt::format("similar --model {} --items {} -n 5", Path("text"),
                                Path("cold.txt")),
                    &batch)
                .exit_code,
            0);
  std::istringstream rows_in(batch);
  std::getline(rows_in, line);
  EXPECT_EQ(line, "item,neighbor,score,fallback");
  int flagged = 0;
  while (std::getline(rows_in, line)) {
    EXPECT_EQ(line.substr(0, line.find(',')), "i99999") << line;
    EXPECT_EQ(line.substr(line.rfind(',') + 1), "content") << line;
    ++flagged;
  }
  EXPECT_EQ(flagged, 5) << batch;
  // Blended into warm items' scores, the cold item reaches some users' lists; without text
  // it cannot (no interactions, so no CF neighbour and no popularity).
  EXPECT_NE(ReadBytes(*dir_ / "text/recommendations.csv").find(",i99999,"), std::string::npos);
  ASSERT_EQ(Train("plain", "--content-blend 0.7").exit_code, 0);
  EXPECT_EQ(ReadBytes(*dir_ / "plain/recommendations.csv").find(",i99999,"), std::string::npos);
  const auto m = nlohmann::json::parse(ReadBytes(*dir_ / "text/metrics.json"));
  EXPECT_EQ(m["content"]["text"]["items_with_text"], 121);
  EXPECT_EQ(m["content"]["text"]["weighting"], "tf-idf");
}

TEST_F(ItemText, SameListsForOneAndThreeWorkersAndWithAttributes) {
  const std::string text = fmt::format("--item-text {}", Path("text.csv"));
  ASSERT_EQ(Train("w1", text + " --workers 1").exit_code, 0);
  ASSERT_EQ(Train("w3", text + " --workers 3").exit_code, 0);
  EXPECT_EQ(ReadBytes(*dir_ / "w1/content_neighbors.csv"),
            ReadBytes(*dir_ / "w3/content_neighbors.csv"));
  // Attributes and text together: other lists than text alone, same for any worker count.
  const std::string both = text + " --item-attributes " + Path("shop/items.csv");
  ASSERT_EQ(Train("b1", both + " --workers 1").exit_code, 0);
  ASSERT_EQ(Train("b3", both + " --workers 3").exit_code, 0);
  EXPECT_EQ(ReadBytes(*dir_ / "b1/content_neighbors.csv"),
            ReadBytes(*dir_ / "b3/content_neighbors.csv"));
  EXPECT_NE(ReadBytes(*dir_ / "b1/content_neighbors.csv"),
            ReadBytes(*dir_ / "w1/content_neighbors.csv"));
}

// The weighted content features travel in the checkpoint: resuming from a mid-similarity
// checkpoint gives the uninterrupted run's outputs; another --text-weight is refused.
TEST_F(ItemText, ResumedFromACheckpointAsUninterrupted) {
  const std::string opts = fmt::format(
      "--item-text {} --item-attributes {} --content-blend 0.2 --block-size 30 "
      "--checkpoint-every 2 --checkpoint-dir {}",
      Path("text.csv"), Path("shop/items.csv"), Path("ck"));
  ASSERT_EQ(Train("ck_full", opts).exit_code, 0);
  std::vector<fs::path> clocks;
  for (const auto& e : fs::directory_iterator(*dir_ / "ck")) {
    if (e.path().filename().string().rfind("clock-", 0) == 0) clocks.push_back(e.path());
  }
  ASSERT_EQ(clocks.size(), 2u);
  std::sort(clocks.begin(), clocks.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.filename().string().substr(6)) < std::stoi(b.filename().string().substr(6));
  });
  fs::remove_all(clocks.back());  // resume from the one before the last task
  auto r = Train("ck_other", opts + " --resume --text-weight 0.4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--text-weight"), std::string::npos) << r.err;
  r = Train("ck_resumed", opts + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"content_neighbors.csv", "recommendations.csv"}) {
    EXPECT_EQ(ReadBytes(*dir_ / "ck_resumed" / f), ReadBytes(*dir_ / "ck_full" / f)) << f;
  }
}

TEST_F(ItemText, BytesThatAreNotUtf8AreCounted) {
  WriteBytes(*dir_ / "latin1.csv", ReadBytes(*dir_ / "shop/item_text.csv") +
                                       "i99998,caf\xE9 cr\xE8me,\"tasse \xE0 caf\xE9\"\n");
  const auto r = Train("latin1", fmt::format("--item-text {}", Path("latin1.csv")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto m = nlohmann::json::parse(ReadBytes(*dir_ / "latin1/metrics.json"));
  EXPECT_EQ(m["content"]["text"]["invalid_utf8_bytes"], 4);
}

TEST_F(ItemText, BadInputRefused) {
  auto r =
      Train("bad1", fmt::format("--item-text {} --text-columns title,descr", Path("text.csv")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("text.csv:1: no text column \"descr\""), std::string::npos) << r.err;
  r = RunEcps(fmt::format("train usercf --train {} --local --quiet --out {} --item-text {}",
                          Path("shop/interactions.csv"), Path("bad2"), Path("text.csv")));
  EXPECT_NE(r.exit_code, 0);
  r = Train("bad3", fmt::format("--item-text {} --text-weight 1.5", Path("text.csv")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--text-weight"), std::string::npos) << r.err;
  WriteBytes(*dir_ / "twice.csv", ReadBytes(*dir_ / "text.csv") + kColdRow);
  r = Train("bad4", fmt::format("--item-text {}", Path("twice.csv")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("item \"i99999\" appears more than once"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecps::testing
