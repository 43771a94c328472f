// `ecps recommend --users FILE|-` through the real binary: one model load answers a list of
// users as user,item,score,fallback; each user's rows equal a single-user call (and training's
// recommendations.csv); unknown users get the popularity fallback, flagged; bad lines are
// refused with file:line; sealed models and pseudonymised ids work as for one user. The same
// for `ecps similar --items|--users`.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

// Rows flagged as the popularity fallback.
std::size_t Fallbacks(const std::string& csv) {
  std::size_t n = 0;
  for (auto at = csv.find(",popularity\n"); at != std::string::npos;
       at = csv.find(",popularity\n", at + 1)) {
    ++n;
  }
  return n;
}

class RecommendBatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(FreshDir("recommend_batch"));
    const auto gen = RunEcps(fmt::format("generate --out '{}' --users 300 --items 60 --seed 7",
                                         (*dir_ / "shop").string()));
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    WriteBytes(*dir_ / "key", "a test key of 32 bytes, no more.");
    ::chmod((*dir_ / "key").c_str(), 0600);
    Train("itemcf", "rec", "");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string Path(const std::string& name) { return "'" + (*dir_ / name).string() + "'"; }

  static void Train(const std::string& kind, const std::string& out, const std::string& extra) {
    const auto r = RunEcps(fmt::format("train {} --train {} --local --quiet --out {} {}", kind,
                                       Path("shop/interactions.csv"), Path(out), extra));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Standard output of `ecps args`, which must succeed.
  static std::string Ok(const std::string& args) {
    std::string out;
    const auto r = RunEcps(args, &out);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return out;
  }

  // The rows of single-user calls for each of `users`, in the batch format.
  static std::string SingleCalls(const std::string& model, const std::vector<std::string>& users,
                                 const std::string& extra) {
    std::string want = "user,item,score,fallback\n";
    for (const auto& user : users) {
      std::string out;
      const auto r =
          RunEcps(fmt::format("recommend --model {} --user {} {}", Path(model), user, extra), &out);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      const bool fallback = r.err.find("is not in the model") != std::string::npos;
      std::istringstream lines(out);
      std::string line;
      std::getline(lines, line);
      EXPECT_EQ(line, "item,score");
      while (std::getline(lines, line)) {
        want += user + "," + line + "," + (fallback ? "popularity" : "") + "\n";
      }
    }
    return want;
  }

  static fs::path* dir_;
};

fs::path* RecommendBatch::dir_ = nullptr;

TEST_F(RecommendBatch, AFileOfUsersEqualsSingleCallsAndStdinTheFile) {
  const std::vector<std::string> users{"u000001", "nobody", "u000150"};
  WriteBytes(*dir_ / "users.txt", "u000001\nnobody\r\nu000150");  // CRLF, no final newline
  const std::string got = Ok(fmt::format("recommend --model {} --users {} -n 7", Path("rec"),
                                         Path("users.txt")));
  EXPECT_EQ(got, SingleCalls("rec", users, "-n 7"));
  EXPECT_NE(got.find("\nnobody,i"), std::string::npos) << got;
  EXPECT_EQ(Fallbacks(got), 7u) << "the unknown user's rows only:\n" << got;
  EXPECT_EQ(Ok(fmt::format("recommend --model {} --users - -n 7 < {}", Path("rec"),
                           Path("users.txt"))),
            got);
  // --fill-popular false is honoured as for one user.
  EXPECT_EQ(Ok(fmt::format("recommend --model {} --users {} -n 50 --fill-popular false",
                           Path("rec"), Path("users.txt"))),
            SingleCalls("rec", users, "-n 50 --fill-popular false"));
}

TEST_F(RecommendBatch, EveryTrainingUserGivesTrainingsRecommendations) {
  // recommendations.csv (top 10 of every user) again, from the model and the list of its users:
  // the same users and items in the same order; the scores agree to float precision (training
  // keeps them as float32, recommend computes in double: the 6th digit may differ by one, at
  // most 1e-5 of the value; 2e-5 allowed).
  std::istringstream train(ReadBytes(*dir_ / "rec/recommendations.csv"));
  std::string line, list, last;
  std::vector<std::string> want;
  std::getline(train, line);
  while (std::getline(train, line)) {
    const std::string user = line.substr(0, line.find(','));
    if (user != last) list += user + "\n";
    last = user;
    want.push_back(line);
  }
  ASSERT_EQ(list.size(), 300u * 8) << "every one of the 300 users";
  WriteBytes(*dir_ / "all.txt", list);
  std::istringstream got(
      Ok(fmt::format("recommend --model {} --users {}", Path("rec"), Path("all.txt"))));
  std::getline(got, line);
  EXPECT_EQ(line, "user,item,score,fallback");
  std::size_t i = 0;
  for (; std::getline(got, line) && i < want.size(); ++i) {
    ASSERT_EQ(line.back(), ',') << line << ": no fallback for a training user";
    const auto cut = line.rfind(',', line.size() - 2), want_cut = want[i].rfind(',');
    ASSERT_EQ(line.substr(0, cut), want[i].substr(0, want_cut)) << "row " << i;
    const double score = std::stod(line.substr(cut + 1));
    const double train_score = std::stod(want[i].substr(want_cut + 1));
    EXPECT_NEAR(score, train_score, 2e-5 * train_score) << line << " vs " << want[i];
  }
  EXPECT_EQ(i, want.size());
  EXPECT_FALSE(std::getline(got, line)) << line;
}

TEST_F(RecommendBatch, AUsersItemsAsHistoryGiveTheUsersAnswer) {
  // The training file's items of a user, given as --history (in any order, repeated, split
  // over arguments or commas), answer as --user does: the same neighbour lists, weights 1
  // (implicit data, no recency decay by default).
  std::map<std::string, std::vector<std::string>> items;
  std::istringstream in(ReadBytes(*dir_ / "shop/interactions.csv"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto a = line.find(','), b = line.find(',', a + 1);
    items[line.substr(0, a)].push_back(line.substr(a + 1, b - a - 1));
  }
  for (const std::string user : {"u000001", "u000150"}) {
    auto list = items[user];
    ASSERT_GE(list.size(), 2u) << user;
    const std::string want = Ok(fmt::format("recommend --model {} --user {} -n 7", Path("rec"), user));
    std::string joined;
    for (const auto& i : list) joined += (joined.empty() ? "" : ",") + i;
    EXPECT_EQ(Ok(fmt::format("recommend --model {} --history {} -n 7", Path("rec"), joined)), want) << user;
    std::reverse(list.begin(), list.end());
    std::string spaced = list[0];  // the first twice
    for (const auto& i : list) spaced += " " + i;
    EXPECT_EQ(Ok(fmt::format("recommend --model {} -n 7 --history {}", Path("rec"), spaced)), want) << user;
  }
  // Unknown items are named and skipped; with none known, the popular items.
  std::string out;
  auto r = RunEcps(fmt::format("recommend --model {} --history {},not-an-item -n 7", Path("rec"),
                               items["u000001"][0]),
                   &out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("item \"not-an-item\" is not in the model: skipped"), std::string::npos) << r.err;
  EXPECT_EQ(out, Ok(fmt::format("recommend --model {} --history {} -n 7", Path("rec"), items["u000001"][0])));
  r = RunEcps(fmt::format("recommend --model {} --history x,y -n 7", Path("rec")), &out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no item of --history is in the model: most popular items"), std::string::npos) << r.err;
  EXPECT_EQ(out, Ok(fmt::format("recommend --model {} --user nobody -n 7", Path("rec"))));
  // Only for itemcf models, and not with --user.
  Train("usercf", "hist_u", "");
  r = RunEcps(fmt::format("recommend --model {} --history {}", Path("hist_u"), items["u000001"][0]));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--history needs an itemcf model; this one is usercf"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("recommend --model {} --history a --user u000001", Path("rec")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--user excludes --history"), std::string::npos) << r.err;
}

TEST_F(RecommendBatch, BadLinesAreRefusedWithFileAndLine) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"u000001\n\nu000150\n", "users_bad.txt:2: blank line"},
      {"u000001\nu000150,i00001\n", "users_bad.txt:2: 2 comma-separated fields"},
      {"u000001\nu000002\n u000150\n", "users_bad.txt:3: spaces around the id"},
      {"\"u000001\n", "users_bad.txt:1: field 1: unterminated quote"},
  };
  for (const auto& c : cases) {
    WriteBytes(*dir_ / "users_bad.txt", c.text);
    std::string out;
    const auto r = RunEcps(
        fmt::format("recommend --model {} --users {}", Path("rec"), Path("users_bad.txt")), &out);
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(out, "") << "nothing is written before the list is read whole";
  }
  auto r = RunEcps(fmt::format("recommend --model {} --users - < {}", Path("rec"),
                               Path("users_bad.txt")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("stdin:1:"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("recommend --model {} --users {}", Path("rec"), Path("missing.txt")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.txt: cannot open"), std::string::npos) << r.err;
  r = RunEcps(fmt::format("recommend --model {} --users {} --user u000001", Path("rec"),
                          Path("users.txt")));
  EXPECT_EQ(r.exit_code, 2);
  r = RunEcps(fmt::format("recommend --model {}", Path("rec")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give --user ID, --users FILE, --history ITEMS or --predict-pairs FILE"), std::string::npos) << r.err;
}

TEST_F(RecommendBatch, SealedModelsAndPseudonymisedIdsWorkAsForOneUser) {
  const std::string key = Path("key");
  WriteBytes(*dir_ / "three.txt", "u000002\nnobody\nu000040\n");
  // A sealed model gives the plain model's answers with its key.
  Train("usercf", "u_plain", "");
  Train("usercf", "u_sealed", "--encrypt-key " + key);
  const std::string plain =
      Ok(fmt::format("recommend --model {} --users {}", Path("u_plain"), Path("three.txt")));
  EXPECT_EQ(plain, SingleCalls("u_plain", {"u000002", "nobody", "u000040"}, ""));
  EXPECT_EQ(Ok(fmt::format("recommend --model {} --users {} --encrypt-key {}", Path("u_sealed"),
                           Path("three.txt"), key)),
            plain);
  EXPECT_EQ(RunEcps(fmt::format("recommend --model {} --users {}", Path("u_sealed"),
                                Path("three.txt")))
                .exit_code,
            2);
  // A model of pseudonymised ids is asked with the raw ids and the key; the user column keeps
  // the ids as given, and known users are found (no fallback).
  Train("itemcf", "pseudo", "--pseudonymize-key " + key);
  const std::string extra = "--pseudonymize-key " + key;
  const std::string got = Ok(fmt::format("recommend --model {} --users {} {}", Path("pseudo"),
                                         Path("three.txt"), extra));
  EXPECT_EQ(got, SingleCalls("pseudo", {"u000002", "nobody", "u000040"}, extra));
  EXPECT_NE(got.find("\nu000002,"), std::string::npos) << got;
  EXPECT_NE(got.find("\nu000040,"), std::string::npos) << got;
  EXPECT_EQ(Fallbacks(got), 10u) << "only the unknown user's rows:\n" << got;
}

TEST_F(RecommendBatch, SimilarAnswersAListOfItemsOrUsers) {
  // Each item's rows equal `similar --item`; an unknown id is refused with file:line.
  WriteBytes(*dir_ / "items.txt", "i00001\ni00030\n");
  std::string want = "item,neighbor,score,fallback\n";
  for (const std::string item : {"i00001", "i00030"}) {
    std::istringstream lines(
        Ok(fmt::format("similar --model {} --item {} -n 4", Path("rec"), item)));
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line, "item,score");
    while (std::getline(lines, line)) want += item + "," + line + ",\n";
  }
  EXPECT_EQ(std::count(want.begin(), want.end(), '\n'), 9) << want;
  EXPECT_EQ(Ok(fmt::format("similar --model {} --items {} -n 4", Path("rec"), Path("items.txt"))),
            want);
  EXPECT_EQ(
      Ok(fmt::format("similar --model {} --items - -n 4 < {}", Path("rec"), Path("items.txt"))),
      want);
  WriteBytes(*dir_ / "items_bad.txt", "i00001\nnone\n");
  auto r =
      RunEcps(fmt::format("similar --model {} --items {}", Path("rec"), Path("items_bad.txt")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("items_bad.txt:2: item \"none\" is not in the model"), std::string::npos)
      << r.err;
  // An item model asked for users, and the reverse.
  r = RunEcps(fmt::format("similar --model {} --users {}", Path("rec"), Path("items.txt")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("this model is itemcf: give --item or --items"), std::string::npos) << r.err;
  Train("usercf", "urec", "");
  WriteBytes(*dir_ / "two.txt", "u000002\nu000040\n");
  const std::string users =
      Ok(fmt::format("similar --model {} --users {} -n 3", Path("urec"), Path("two.txt")));
  EXPECT_EQ(users.substr(0, users.find('\n')), "user,neighbor,score,fallback");
  EXPECT_EQ(std::count(users.begin(), users.end(), '\n'), 7) << users;
  EXPECT_NE(users.find("\nu000040,u"), std::string::npos) << users;
}

}  // namespace
}  // namespace ecps::testing
