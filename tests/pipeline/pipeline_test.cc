// `ecps pipeline` in single-node mode: the demo config (the README's main job) and every
// example config for the real data sets in ../shared/data; and how the executable answers
// usage errors and bad inputs (exit code 2, the problem named, no outputs left behind).
#include <gtest/gtest.h>

#include "tests/common/shared_data.h"
#include "tests/pipeline/pipeline_support.h"
#include "util/crc32.h"

namespace ecps::testing {
namespace {

// Adjusted Rand index of two labelings (Hubert & Arabie).
double AdjustedRand(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::map<std::pair<std::string, std::string>, double> n;
  std::map<std::string, double> ra, rb;
  for (std::size_t i = 0; i < a.size(); ++i) {
    n[{a[i], b[i]}] += 1;
    ra[a[i]] += 1;
    rb[b[i]] += 1;
  }
  auto c2 = [](double x) { return x * (x - 1) / 2; };
  double index = 0, sa = 0, sb = 0;
  for (const auto& [k, v] : n) index += c2(v);
  for (const auto& [k, v] : ra) sa += c2(v);
  for (const auto& [k, v] : rb) sb += c2(v);
  const double expected = sa * sb / c2(static_cast<double>(a.size()));
  return (index - expected) / ((sa + sb) / 2 - expected);
}

// Column `col` (0-based) of a CSV file with a header, keyed by column 0.
std::map<std::string, std::string> Column(const fs::path& p, std::size_t col) {
  std::map<std::string, std::string> out;
  std::istringstream in(Slurp(p));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    out[f[0]] = f.at(col);
  }
  return out;
}

TEST(Pipeline, DemoRunsEndToEndWithReportAndManifest) {
  const fs::path out = TempDir("pipeline_demo");
  CommandRun r = InRepo(fmt::format("{} pipeline --config examples/demo.toml --out {} --quiet", ECPS_BINARY, out.string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* f : {"summary.md", "manifest.json", "data/users.csv", "segment/assignments.csv",
                        "segment/profiles.csv", "recommend/recommendations.csv", "ctr/model.bin",
                        "ctr/metrics.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  // Every file is listed with the right checksum, and nothing is missing from the list.
  auto manifest = Manifest(out);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    if (!e.is_regular_file() || e.path().filename() == "manifest.json") continue;
    ++files;
    const std::string rel = fs::relative(e.path(), out).string();
    ASSERT_TRUE(manifest.count(rel)) << rel << " missing from manifest.json";
    auto crc = util::FileCrc32(e.path().string());
    ASSERT_TRUE(crc.ok());
    EXPECT_EQ(manifest[rel], fmt::format("{:08x}", crc->first)) << rel;
  }
  EXPECT_EQ(files, manifest.size());

  const std::string summary = Slurp(out / "summary.md");
  for (const char* part : {"## segment", "Segment profiles", "## recommend", "popularity (full)", "## ctr", "| AUC |",
                           "## Serving", "ecps serve --port 8500 --model segment="}) {
    EXPECT_NE(summary.find(part), std::string::npos) << part << "\n" << summary;
  }
  for (const char* stage : {"segment", "recommend", "ctr"}) {
    EXPECT_NE(summary.find(fmt::format(" --model {}={}", stage, (out / stage).string())), std::string::npos)
        << stage << "\n" << summary;
  }
  // The planted structure is found: segments match the generator's truth, item-CF beats
  // popularity on the held-out items, the click model beats chance.
  auto truth = Column(out / "data/truth/user_segments.csv", 1);
  auto found = Column(out / "segment/assignments.csv", 1);
  std::vector<std::string> a, b;
  for (const auto& [user, seg] : truth) {
    a.push_back(seg);
    b.push_back(found.at(user));
  }
  EXPECT_GT(AdjustedRand(a, b), 0.9);
  auto rec = Json(out / "recommend/metrics.json")["evaluation"];
  for (const char* proto : {"full", "sampled"}) {
    EXPECT_GT(rec[proto]["itemcf"]["HR@10"].get<double>(), rec[proto]["popularity"]["HR@10"].get<double>()) << proto;
  }
  EXPECT_GT(Json(out / "ctr/metrics.json")["auc"].get<double>(), 0.65);
  fs::remove_all(out);
}

TEST(Pipeline, BadConfigsNameTheProblem) {
  const fs::path dir = TempDir("pipeline_bad");
  fs::create_directories(dir);
  std::ofstream(dir / "a.toml") << "out = \"x\"\n[segmnt]\nk = 3\n";
  std::ofstream(dir / "b.toml") << "out = \"x\"\n[segment]\nkk = 3\n";
  CommandRun a = InRepo(fmt::format("{} pipeline --config {}/a.toml", ECPS_BINARY, dir.string()));
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.out.find("a.toml:2: unknown section or key \"segmnt\""), std::string::npos) << a.out;
  CommandRun b = InRepo(fmt::format("{} pipeline --config {}/b.toml", ECPS_BINARY, dir.string()));
  EXPECT_EQ(b.rc, 2);
  EXPECT_NE(b.out.find("b.toml [segment]:3: unknown key \"kk\""), std::string::npos) << b.out;
  // Every stage is checked before the first runs: the generate stage writes nothing.
  std::ofstream(dir / "c.toml") << fmt::format("out = \"{}/c-out\"\n[generate]\nusers = 200\nitems = 50\n"
                                               "[segment]\nkk = 3\n",
                                               dir.string());
  CommandRun c = InRepo(fmt::format("{} pipeline --config {}/c.toml", ECPS_BINARY, dir.string()));
  EXPECT_EQ(c.rc, 2);
  EXPECT_NE(c.out.find("c.toml [segment]:6: unknown key \"kk\""), std::string::npos) << c.out;
  EXPECT_FALSE(fs::exists(dir / "c-out")) << c.out;
  fs::remove_all(dir);
}

TEST(Cli, UsageErrorsExitWith2AndNameTheProblem) {
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"", "`ecps`: a command is needed: train, demo"},
      {"frobnicate", "`ecps frobnicate`: unknown command; the commands are: train"},
      {"train svm", "`ecps train svm`: unknown command; the commands are: kmeans, lr"},
      {"train lr --train x --out y --epochs 0", "--epochs: must be >= 1, not 0"},
      {"train kmeans --data x --id-column id --features a --k 2 --out y --threads -1",
       "--threads: must be >= 0, not -1"},
      {"recommend --model x --user u -n abc", "--top-n: must be a whole number, not abc"},
      {"train lr --train x --out y --epochz 2", "epochz"},
      {"predict", "--model is required"},  // a command without options is not asked for a subcommand
  };
  for (const auto& c : cases) {
    CommandRun r = InRepo(fmt::format("{} {}", ECPS_BINARY, c.args));
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find("ecps: error: "), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_EQ(InRepo(fmt::format("{} train lr --help", ECPS_BINARY)).rc, 0);
  CommandRun demo = InRepo(fmt::format("{} demo --keys 1000 --clocks 2", ECPS_BINARY));
  EXPECT_EQ(demo.rc, 0) << demo.out;
  CommandRun bare = InRepo(fmt::format("{} demo", ECPS_BINARY));  // every option has a default
  EXPECT_EQ(bare.rc, 0) << bare.out;
}

TEST(Cli, BadFeatindexStopsBeforeTrainingAndPredictWritesToStdout) {
  const fs::path dir = TempDir("cli_lr");
  CommandRun g = InRepo(fmt::format("{} generate --out {}/shop --users 300 --items 60 --seed 3", ECPS_BINARY,
                                    dir.string()));
  ASSERT_EQ(g.rc, 0) << g.out;
  const std::string train = (dir / "shop/impressions.libsvm").string();
  CommandRun bad = InRepo(fmt::format("{} train lr --train {} --featindex {}/none.txt --out {}/lr --local --quiet",
                                      ECPS_BINARY, train, dir.string(), dir.string()));
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("none.txt: No such file"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(dir / "lr")) << "a failed run left its output folder";
  CommandRun ok = InRepo(fmt::format("{} train lr --train {} --featindex {}/shop/featindex.txt --out {}/lr --local "
                                     "--quiet",
                                     ECPS_BINARY, train, dir.string(), dir.string()));
  ASSERT_EQ(ok.rc, 0) << ok.out;
  const std::string test = (dir / "shop/impressions_test.libsvm").string();
  CommandRun p = InRepo(fmt::format("{} predict --model {}/lr --data {} --out - 2>/dev/null", ECPS_BINARY,
                                    dir.string(), test));
  ASSERT_EQ(p.rc, 0) << p.out;
  std::size_t rows = 0;
  for (char ch : Slurp(test)) rows += ch == '\n';
  std::istringstream lines(p.out);
  std::string header;
  ASSERT_TRUE(std::getline(lines, header));
  EXPECT_EQ(header, "id,probability");
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    EXPECT_EQ(line.substr(0, line.find(',')), std::to_string(n + 1)) << "the row's line number";
    const double v = std::stod(line.substr(line.find(',') + 1));
    EXPECT_TRUE(v > 0 && v < 1) << line;
  }
  EXPECT_EQ(n, rows);
  EXPECT_FALSE(fs::exists(fs::path(ECPS_SOURCE_DIR) / "-"));
  // The lr folder given to the commands of other models: each says what the folder holds.
  CommandRun rec = InRepo(fmt::format("{} recommend --model {}/lr --user u1", ECPS_BINARY, dir.string()));
  EXPECT_EQ(rec.rc, 2) << rec.out;
  EXPECT_NE(rec.out.find("no model.ecps in this folder (it holds model.bin (a lr model))"), std::string::npos)
      << rec.out;
  CommandRun seg = InRepo(fmt::format("{} segment --model {}/lr --data {}/shop/users.csv", ECPS_BINARY, dir.string(),
                                      dir.string()));
  EXPECT_EQ(seg.rc, 2) << seg.out;
  EXPECT_NE(seg.out.find("this is a lr model; expected a kmeans model"), std::string::npos) << seg.out;
  fs::remove_all(dir);
}

TEST(Cli, AFailedTrainingLeavesNoNewOutputFolder) {
  const fs::path dir = TempDir("cli_fail");
  fs::create_directories(dir);
  std::ofstream(dir / "bad.csv") << "id,age\n1,20\n2,abc\n3,40\n";
  for (const char* cmd : {"train kmeans --data {0}/bad.csv --id-column id --features age --k 2",
                          "train linreg --train {0}/bad.csv --format csv --label-column age"}) {
    const std::string args = fmt::format(fmt::runtime(cmd), dir.string());
    CommandRun r = InRepo(fmt::format("{} {} --out {}/new --local --quiet", ECPS_BINARY, args, dir.string()));
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("bad.csv:3"), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir / "new")) << args << ": the failed run left its output folder";
  }
  // A folder that existed before is left alone.
  fs::create_directories(dir / "old");
  std::ofstream(dir / "old/notes.txt") << "mine\n";
  std::ofstream(dir / "old/metrics.jsonl") << "{\"from\": \"an earlier run\"}\n";
  CommandRun r = InRepo(fmt::format("{} train kmeans --data {}/bad.csv --id-column id --features age --k 2 --out {}/old "
                                    "--local --quiet",
                                    ECPS_BINARY, dir.string(), dir.string()));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_EQ(Slurp(dir / "old/notes.txt"), "mine\n");
  EXPECT_EQ(Slurp(dir / "old/metrics.jsonl"), "{\"from\": \"an earlier run\"}\n")
      << "a run that failed before logging anything replaced the earlier run's log";
  // The same for a run that fails after the scheduler set up its log (at initialisation:
  // more segments than users).
  std::ofstream(dir / "three.csv") << "id,age\n1,20\n2,30\n3,40\n";
  CommandRun k = InRepo(fmt::format("{} train kmeans --data {}/three.csv --id-column id --features age --k 5 "
                                    "--out {}/old --local --quiet",
                                    ECPS_BINARY, dir.string(), dir.string()));
  EXPECT_EQ(k.rc, 2) << k.out;
  EXPECT_NE(k.out.find("--k 5 exceeds the number of users (3)"), std::string::npos) << k.out;
  EXPECT_EQ(Slurp(dir / "old/metrics.jsonl"), "{\"from\": \"an earlier run\"}\n")
      << "a run that failed before logging anything replaced the earlier run's log";
  fs::remove_all(dir);
}

// The example configs for the real data sets.
struct Example {
  const char* name;
  const char* dataset;  // folder in ../shared/data
  const char* metrics;  // stage/metrics.json to check
};

void PrintTo(const Example& e, std::ostream* os) { *os << e.name; }

class Examples : public ::testing::TestWithParam<Example> {};

TEST_P(Examples, RunsOnTheSharedData) {
  const Example& ex = GetParam();
  ECPS_SHARED_DATA_OR_SKIP(data, ex.dataset);
  const fs::path out = TempDir(std::string("example_") + ex.name);
  CommandRun r = InRepo(fmt::format("{} pipeline --config examples/{}.toml --out {} --quiet", ECPS_BINARY, ex.name,
                             out.string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  ASSERT_TRUE(fs::exists(out / "summary.md"));
  auto m = Json(out / ex.metrics);
  const std::string name = ex.name;
  if (name == "online-shoppers") {
    EXPECT_GT(m["auc"].get<double>(), 0.88);
    EXPECT_GT(Json(out / "segment/metrics.json")["silhouette"].get<double>(), 0.2);
  } else if (name == "ipinyou-ctr") {
    EXPECT_GT(m["auc"].get<double>(), 0.55);
  } else if (name == "amazon-games") {
    for (const char* proto : {"full", "sampled"}) {
      EXPECT_GT(m["evaluation"][proto]["itemcf"]["NDCG@10"].get<double>(),
                1.2 * m["evaluation"][proto]["popularity"]["NDCG@10"].get<double>())
          << proto;
    }
  } else if (name == "fraud-risk") {
    EXPECT_EQ(m["positives"].get<int>(), 492);
    EXPECT_GT(m["roc_auc_by_score"]["distance"].get<double>(), 0.8);
  }
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(
    Pipeline, Examples,
    ::testing::Values(Example{"online-shoppers", "online-shoppers-intention", "ctr/metrics.json"},
                      Example{"ipinyou-ctr", "ipinyou-ctr", "ctr/metrics.json"},
                      Example{"amazon-games", "amazon-videogames-sasrec", "recommend/metrics.json"},
                      Example{"fraud-risk", "creditcard-fraud-sample", "segment/metrics.json"}),
    [](const ::testing::TestParamInfo<Example>& p) {
      std::string n = p.param.name;
      for (auto& c : n) c = c == '-' ? '_' : c;
      return n;
    });

}  // namespace
}  // namespace ecps::testing
