// `ecps train mf` through the binary: option and input refusals, `ecps recommend` and
// `ecps similar` on the model, --task rating and --predict-pairs, the pipeline stage.
#include <cmath>
#include <fstream>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/run_ecps.h"
#include "tests/mf/mf_data.h"

namespace {

using namespace ecps::testing_mf;
using ecps::testing::RunEcps;

// The item column of each user's rows of a user,item,score CSV, in order.
std::map<std::string, std::vector<std::string>> ItemsByUser(const std::string& csv) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    out[line.substr(0, c1)].push_back(line.substr(c1 + 1, c2 - c1 - 1));
  }
  return out;
}

TEST(MfBinary, RefusesBadOptionsWithExitTwo) {
  const auto dir = TempDir("options");
  const auto file = WritePlanted(dir / "planted.csv", 40, 2, 10, 5, 1);
  for (const char* bad : {"--factors 0", "--factors 513", "--iterations 0", "--alpha nan",
                          "--alpha -1", "--regularization inf", "--regularization -0.5"}) {
    const auto r = RunEcps(fmt::format("train mf --local --train {} --out {} {}", file,
                                       (dir / "out").string(), bad));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    const std::string name(bad, std::string(bad).find(' '));
    EXPECT_NE(r.err.find(name), std::string::npos) << bad << ": " << r.err;
  }
  const auto help = RunEcps("train mf --help", nullptr);
  EXPECT_EQ(help.exit_code, 0);
}

TEST(MfBinary, BadRowNamesFileLineAndField) {
  const auto dir = TempDir("badrow");
  const auto file = (dir / "bad.txt").string();
  std::ofstream(file) << "u1 i1\nu2 i2\nu3\nu4 i4\n";
  const auto r = RunEcps(fmt::format("train mf --local --workers 2 --train {} --out {}", file,
                                     (dir / "out").string()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(file + ":3: expected 2 fields"), std::string::npos) << r.err;
  const auto skip = RunEcps(fmt::format("train mf --local --train {} --out {} --skip-bad-rows "
                                        "--factors 2 --iterations 2 --quiet",
                                        file, (dir / "skip").string()));
  EXPECT_EQ(skip.exit_code, 0) << skip.err;
}

TEST(MfBinary, RecommendAndSimilarAnswerFromTheModel) {
  const auto dir = TempDir("recommend");
  const auto file = WritePlanted(dir / "planted.csv", 200, 4, 20, 8, 3);
  const auto out = (dir / "out").string();
  const auto r = RunEcps(fmt::format("train mf --local --workers 2 --train {} --out {} --factors 6 "
                                     "--iterations 8 --split leave-last-out -n 5 --quiet",
                                     file, out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto trained = ItemsByUser(Slurp(fs::path(out) / "recommendations.csv"));
  ASSERT_EQ(trained.size(), 200u);
  // recommend --users gives every user the items of recommendations.csv in the same order.
  std::ofstream(dir / "users.txt") << "u0\nu17\nu199\nnobody\n";
  std::string text;
  const auto rec = RunEcps(fmt::format("recommend --model {} --users {} -n 5", out,
                                       (dir / "users.txt").string()),
                           &text);
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  ASSERT_EQ(text.rfind("user,item,score,fallback\n", 0), 0u) << text;
  const auto answered = ItemsByUser(text);
  for (const char* u : {"u0", "u17", "u199"}) EXPECT_EQ(answered.at(u), trained.at(u)) << u;
  EXPECT_NE(text.find(",popularity\n"), std::string::npos) << text;
  // similar: cosine of item factors; an item's nearest items are of its own block.
  const auto sim = RunEcps(fmt::format("similar --model {} --item i3 -n 5", out), &text);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "item,score");
  int same = 0, listed = 0;
  while (std::getline(lines, line)) {
    ++listed;
    same += ItemGroup(std::stoi(line.substr(1, line.find(',') - 1)), 20) == 0 ? 1 : 0;
  }
  EXPECT_EQ(listed, 5);
  EXPECT_EQ(same, 5) << text;
  const auto unknown = RunEcps(fmt::format("similar --model {} --item nothing", out), &text);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("\"nothing\" is not in the model"), std::string::npos) << unknown.err;
  const auto by_user = RunEcps(fmt::format("similar --model {} --user u1", out), &text);
  EXPECT_EQ(by_user.exit_code, 2) << by_user.err;
}

// --task rating needs a rating column and numbers in it; it refuses --feedback implicit.
TEST(MfBinary, RatingTaskRefusesFilesWithoutRatings) {
  const auto dir = TempDir("rating-bad");
  const auto out = (dir / "out").string();
  const auto implicit = WritePlanted(dir / "planted.csv", 40, 2, 10, 5, 1);
  auto r = RunEcps(fmt::format("train mf --local --train {} --out {} --task rating", implicit, out));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--task rating: " + implicit + " has no rating column"), std::string::npos)
      << r.err;
  const auto pairs = (dir / "pairs.txt").string();
  std::ofstream(pairs) << "u1 i1\nu2 i2\n";
  r = RunEcps(fmt::format("train mf --local --train {} --out {} --task rating", pairs, out));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(pairs + " has no rating column"), std::string::npos) << r.err;
  const auto words = (dir / "words.csv").string();
  std::ofstream(words) << "user,item,rating\nu1,i1,4\nu2,i2,good\nu3,i1,2\n";
  r = RunEcps(fmt::format("train mf --local --workers 2 --train {} --out {} --task rating", words, out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(words + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rating"), std::string::npos) << r.err;
  const auto ratings = WritePlantedRatings(dir / "ratings.csv", 30, 10, 2, 5, 0.1, 1);
  for (const char* bad : {"--task rating --feedback implicit", "--task ratings"}) {
    r = RunEcps(fmt::format("train mf --local --train {} --out {} {}", ratings, out, bad));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--task"), std::string::npos) << bad << ": " << r.err;
  }
}

// Train --task rating, then recommend --predict-pairs: the held-out ratings' predictions
// from the saved model give the RMSE of metrics.json (to the 6 printed digits), and unknown
// ids fall back to the baseline; a ranking model refuses --predict-pairs.
TEST(MfBinary, PredictPairsFromARatingModel) {
  const auto dir = TempDir("rating-predict");
  const auto file = WritePlantedRatings(dir / "ratings.csv", 120, 60, 2, 20, 0.1, 3);
  const auto out = (dir / "out").string();
  std::string text;
  auto r = RunEcps(fmt::format("train mf --local --workers 2 --train {} --out {} --task rating "
                               "--factors 3 --iterations 8 --split holdout",
                               file, out),
                   &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"held-out ratings", "rating RMSE", "(global mean ", "training RMSE"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
  const auto metrics = nlohmann::json::parse(Slurp(fs::path(out) / "metrics.json"));
  // Every rating of the file: the model predicts close to all of them (train and held out).
  r = RunEcps(fmt::format("recommend --model {} --predict-pairs {}", out, file), &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(text), truth(Slurp(file));
  std::string line, want;
  std::getline(in, line);
  ASSERT_EQ(line, "user,item,rating,fallback");
  std::getline(truth, want);
  double sse = 0;
  int n = 0;
  const double lo = metrics["rating"]["range"][0].get<double>();
  const double hi = metrics["rating"]["range"][1].get<double>();
  while (std::getline(in, line) && std::getline(truth, want)) {
    const auto c2 = line.find(',', line.find(',') + 1), c3 = line.find(',', c2 + 1);
    ASSERT_EQ(line.substr(0, c2), want.substr(0, want.rfind(','))) << line;
    EXPECT_EQ(line.substr(c3), ",") << line;  // both known
    const double pred = std::stod(line.substr(c2 + 1, c3 - c2 - 1));
    EXPECT_GE(pred, lo);
    EXPECT_LE(pred, hi);
    const double d = pred - std::stod(want.substr(want.rfind(',') + 1));
    sse += d * d;
    ++n;
  }
  ASSERT_EQ(n, 120 * 20);
  EXPECT_LT(std::sqrt(sse / n), 0.3) << metrics["rating"].dump();
  std::ofstream(dir / "unknown.csv") << "u1,nothing\nnobody,i1\nnobody,nothing\n";
  r = RunEcps(fmt::format("recommend --model {} --predict-pairs {}", out,
                          (dir / "unknown.csv").string()),
              &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(text.find("u1,nothing,"), std::string::npos) << text;
  EXPECT_NE(text.find(",user\nnobody,i1,"), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("nobody,nothing,{:g},mean", metrics["rating"]["mean"].get<double>())),
            std::string::npos)
      << text;
  // Top-N lists still come from the rating model.
  r = RunEcps(fmt::format("recommend --model {} --user u3 -n 4", out), &text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << text;
  // A ranking model has no ratings to predict.
  const auto implicit = WritePlanted(dir / "planted.csv", 40, 2, 10, 5, 1);
  ASSERT_EQ(RunEcps(fmt::format("train mf --local --train {} --out {}/rank --factors 2 "
                                "--iterations 2 --quiet",
                                implicit, dir.string()))
                .exit_code,
            0);
  r = RunEcps(fmt::format("recommend --model {}/rank --predict-pairs {}", dir.string(), file), &text);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("trained for ranking"), std::string::npos) << r.err;
}

// `mf` as a pipeline stage: [generate] then [mf] on the demo shop's interactions; the
// report has the stage with its quality table and the serve command names it.
TEST(MfBinary, PipelineRunsTheMfStage) {
  const auto dir = TempDir("pipeline");
  const auto config = dir / "mf.toml";
  std::ofstream(config) << "out = \"" << (dir / "out").string() << "\"\n"
                        << "[cluster]\nworkers = 2\n"
                        << "[generate]\nout = \"{out}/data\"\nusers = 600\nitems = 200\nseed = 7\n"
                        << "[mf]\ntrain = \"{out}/data/interactions.csv\"\nfactors = 16\n"
                        << "iterations = 8\ntop-n = 10\nsplit = \"leave-last-out\"\n";
  std::string text;
  const auto r = RunEcps(fmt::format("pipeline --config {} --quiet", config.string()), &text, 180);
  ASSERT_EQ(r.exit_code, 0) << r.err << text;
  const auto out = dir / "out";
  EXPECT_TRUE(fs::exists(out / "mf" / "recommendations.csv"));
  EXPECT_TRUE(fs::exists(out / "mf" / "model.ecps"));
  const std::string summary = Slurp(out / "summary.md");
  for (const char* part : {"## mf", "| metric | mf (full) | popularity (full) |"}) {
    EXPECT_NE(summary.find(part), std::string::npos) << part << "\n" << summary;
  }
  EXPECT_NE(summary.find("--model mf=" + (out / "mf").string()), std::string::npos) << summary;
  const std::string page = Slurp(out / "report.html");
  EXPECT_NE(page.find("recommendations by matrix factorisation"), std::string::npos);
  EXPECT_NE(page.find("rec-full"), std::string::npos);  // the quality chart
}

}  // namespace
