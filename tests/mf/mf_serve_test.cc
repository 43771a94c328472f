// An mf model served (serve/mf_served.cc) answers as `ecps recommend` and `ecps similar` do.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/served_model.h"
#include "tests/common/run_ecps.h"
#include "tests/mf/mf_data.h"

namespace {

using namespace ecps::testing_mf;
using ecps::testing::RunEcps;

// The `item` column and the score column of an item,score CSV.
std::vector<std::pair<std::string, std::string>> Rows(const std::string& csv) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto c = line.find(',');
    out.emplace_back(line.substr(0, c), line.substr(c + 1));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Rows(const nlohmann::json& list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : list) {
    out.emplace_back(e["item"].get<std::string>(), nlohmann::json(e["score"]).dump());
  }
  return out;
}

TEST(MfServe, AnswersAsRecommendAndSimilar) {
  const auto dir = TempDir("serve");
  const auto file = WritePlanted(dir / "planted.csv", 120, 3, 15, 6, 4);
  const auto out = (dir / "out").string();
  const auto r = RunEcps(fmt::format("train mf --local --train {} --out {} --factors 4 "
                                     "--iterations 5 --quiet", file, out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto served = ecps::serve::LoadServedModel("games", out);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ((*served)->kind(), "mf");
  for (const auto& [verb, body, args] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"recommend", R"({"user": "u5", "n": 4})", "recommend --user u5 -n 4"},
           {"similar", R"({"item": "i7", "n": 3})", "similar --item i7 -n 3"}}) {
    ecps::serve::JsonDoc doc;
    ASSERT_FALSE(doc.Parse(body).has_value());
    const auto reply = (*served)->Handle(verb, doc.root());
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto j = nlohmann::json::parse(reply.body);
    std::string text;
    const auto cli = RunEcps(fmt::format("{} --model {}", args, out), &text);
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    const auto want = Rows(text);
    ASSERT_FALSE(want.empty());
    const auto got = Rows(j[verb == "recommend" ? "items" : "neighbors"]);
    ASSERT_EQ(got.size(), want.size()) << reply.body;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, want[i].first) << verb << " " << i;
      EXPECT_DOUBLE_EQ(std::stod(got[i].second), std::stod(want[i].second)) << verb << " " << i;
    }
  }
  ecps::serve::JsonDoc doc;
  ASSERT_FALSE(doc.Parse(R"({"item": "nothing"})").has_value());
  EXPECT_EQ((*served)->Handle("similar", doc.root()).status, 404);
  ASSERT_FALSE(doc.Parse(R"({"user": "stranger"})").has_value());
  EXPECT_NE((*served)->Handle("recommend", doc.root()).body.find("\"fallback\": \"popularity\""),
            std::string::npos);
}

}  // namespace
