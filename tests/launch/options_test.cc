// Option values and config files through the real ecps binary: every numeric option refuses
// non-finite and out-of-range values as a usage error (exit 2, `ecps: error: --opt: ...`);
// config files give their values as the command line would (an empty string is a value, the
// command line replaces a list, a refused value names file, line and key); paths keep their
// commas; CSV headers name each column once; blank lines are skipped by every reader.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <tuple>

#include "launch/command.h"
#include "tests/pipeline/pipeline_support.h"

namespace ecps::testing {
namespace {

// Runs ecps with `args` (stdout and stderr together).
CommandRun Ecps(const std::string& args) { return InRepo(fmt::format("{} {}", ECPS_BINARY, args)); }

// Runs ecps with `args` and expects exit code 2 and `message` in its output.
void ExpectError(const std::string& args, const std::string& message) {
  CommandRun r = Ecps(args);
  EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
  EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
}

// Runs ecps with `args` and expects the usage error `message` for option `option`.
void ExpectUsageError(const std::string& args, const std::string& option,
                      const std::string& message) {
  ExpectError(args, fmt::format("ecps: error: {}: {}", option, message));
}

// A folder of small inputs: users.csv (k-means), clicks.csv (lr, CSV), clicks.svm (libsvm).
class Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream users(dir_ / "users.csv");
    users << "id,a,b,c\n";
    for (int i = 0; i < 40; ++i)
      users << i << "," << i % 7 << "," << (i * 3) % 11 << "," << (i % 2) * 10 << "\n";
    std::ofstream csv(dir_ / "clicks.csv");
    csv << "x,c,y\n";
    for (int i = 0; i < 60; ++i)
      csv << i % 9 << "," << (i % 3 == 0 ? "a" : "b") << "," << (i % 3 == 0) << "\n";
    std::ofstream svm(dir_ / "clicks.svm");
    for (int i = 0; i < 60; ++i)
      svm << (i % 3 == 0) << " " << 1 + i % 5 << ":1 " << 7 + i % 2 << ":0.5\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string KMeans(const std::string& extra) const {
    return fmt::format(
        "train kmeans --data {} --id-column id --features a,b --k 2 --local --quiet --out {} {}",
        Path("users.csv"), Path("km"), extra);
  }
  std::string Lr(const std::string& extra) const {
    return fmt::format(
        "train lr --train {} --format csv --label-column y --local --quiet --out {} {}",
        Path("clicks.csv"), Path("lr"), extra);
  }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
  }

  fs::path dir_;
};

// Every numeric option of every command, by its command words and long name, and the values
// it refuses whatever its range: not finite, or negative for an unsigned one.
struct NumericOption {
  std::string command, name, type;
};

std::vector<NumericOption> NumericOptions() {
  CLI::App app;
  launch::Selected unused;
  launch::BuildCommandTree(app, unused);
  std::vector<NumericOption> out;
  std::function<void(const CLI::App&, const std::string&)> walk = [&](const CLI::App& a,
                                                                      const std::string& words) {
    for (const CLI::Option* opt : a.get_options()) {
      const std::string type = opt->get_type_name().substr(0, opt->get_type_name().find(':'));
      if (opt->get_expected_min() > 0 && (type == "INT" || type == "UINT" || type == "FLOAT")) {
        out.push_back({words, opt->get_lnames().at(0), type});
      }
    }
    for (const CLI::App* sub : a.get_subcommands([](const CLI::App*) { return true; })) {
      walk(*sub,
           sub->get_name().empty() ? words : words + (words.empty() ? "" : " ") + sub->get_name());
    }
  };
  walk(app, "");
  return out;
}

TEST(Options, EveryNumericOptionRefusesNonFiniteAndNegativeUnsignedValues) {
  const auto options = NumericOptions();
  ASSERT_GT(options.size(), 60u) << "the walk over the command tree found too few options";
  for (const auto& o : options) {
    std::vector<std::pair<std::string, std::string>> bad = {{"nan", "must be"}, {"inf", "must be"}};
    if (o.type == "UINT") bad.push_back({"-1", "must be"});
    if (o.type == "INT") bad.push_back({"2.5", "must be"});
    for (const auto& [value, message] : bad) {
      ExpectUsageError(fmt::format("{} --{} {}", o.command, o.name, value), "--" + o.name, message);
    }
  }
}

TEST(Options, HeartbeatAndRequestTimeoutsMustBeFinitePositiveSeconds) {
  // nan switched failure detection off; 0, -1 and nan as request timeouts ended in exit 4.
  const std::string demo = "demo --keys 100 --clocks 1 --quiet";
  ExpectUsageError(demo + " --heartbeat-timeout nan", "--heartbeat-timeout",
                   "must be a finite number, not nan");
  ExpectUsageError(demo + " --heartbeat-timeout inf", "--heartbeat-timeout",
                   "must be a finite number, not inf");
  ExpectUsageError(demo + " --heartbeat-interval nan", "--heartbeat-interval",
                   "must be a finite number, not nan");
  for (const char* t : {"0", "-1"}) {
    ExpectUsageError(demo + " --request-timeout " + t, "--request-timeout",
                     fmt::format("must be in (0, 1000000], not {}", t));
  }
  ExpectUsageError(demo + " --request-timeout nan", "--request-timeout",
                   "must be a finite number, not nan");
  EXPECT_EQ(Ecps(demo + " --heartbeat-interval 0.5 --heartbeat-timeout 30 --request-timeout 60").rc,
            0);
}

TEST_F(Inputs, NegativeValuesOfUnsignedOptionsSaySo) {
  CommandRun k = Ecps(KMeans("--k -1"));
  EXPECT_EQ(k.rc, 2) << k.out;
  EXPECT_NE(k.out.find("ecps: error: --k: must be a non-negative integer, not -1"),
            std::string::npos)
      << k.out;
  EXPECT_EQ(k.out.find("18446744073709551615"), std::string::npos) << k.out;
  // --seed -1 is refused, not taken as 2^64 - 1.
  ExpectUsageError(fmt::format("generate --users 20 --items 30 --out {} --seed -1", Path("shop")),
                   "--seed", "must be a non-negative integer, not -1");
  EXPECT_FALSE(fs::exists(dir_ / "shop"));
  ExpectUsageError(KMeans("--seed -1"), "--seed", "must be a non-negative integer, not -1");
  // Whole numbers are decimal: "010" is ten (CLI11 alone reads it as octal eight).
  EXPECT_EQ(Ecps(KMeans("--k 02 --max-iter 010")).rc, 0);
  const auto m = Json(dir_ / "km/metrics.json");
  EXPECT_EQ(m["k"], 2) << m.dump();
  EXPECT_EQ(m["max_iter"], 10) << m.dump();
}

TEST_F(Inputs, InfiniteLearningRatesAndTolerancesAreRefused) {
  ExpectUsageError(Lr("--alpha inf"), "--alpha", "must be a finite number, not inf");
  EXPECT_FALSE(fs::exists(dir_ / "lr"));
  ExpectUsageError(KMeans("--tol inf"), "--tol", "must be a finite number, not inf");
  ExpectUsageError(Lr("--holdout 1"), "--holdout", "must be in [0, 1), not 1");
  EXPECT_EQ(Ecps(Lr("--alpha 0.2")).rc, 0);
}

TEST_F(Inputs, AnEmptyStringInAConfigIsAValueNotTheNextArgument) {
  // `out = ""` is an empty value: the next word (--quiet) is not taken as the output folder.
  Write("demo.toml", "keys = 100\nclocks = 1\nout = \"\"\n");
  CommandRun r = InRepo(
      fmt::format("cd {} && {} demo --config demo.toml --quiet", dir_.string(), ECPS_BINARY));
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "--quiet")) << "the empty value took the next argument";
  EXPECT_EQ(r.out.find("info"), std::string::npos) << "--quiet was not applied:\n" << r.out;
  // For a training, an empty --out is refused as such.
  Write("km.toml",
        fmt::format("data = \"{}\"\nid-column = \"id\"\nfeatures = [\"a\"]\nout = \"\"\n",
                    Path("users.csv")));
  CommandRun k = InRepo(fmt::format("cd {} && {} train kmeans --config km.toml --quiet --local",
                                    dir_.string(), ECPS_BINARY));
  EXPECT_EQ(k.rc, 2) << k.out;
  EXPECT_NE(k.out.find("--out"), std::string::npos) << k.out;
  EXPECT_FALSE(fs::exists(dir_ / "--quiet"));
}

TEST_F(Inputs, TheCommandLineReplacesAListFromTheConfig) {
  Write("km.toml",
        fmt::format("data = \"{}\"\nid-column = \"id\"\nfeatures = [\"nosuch\", \"a\"]\nk = 2\n",
                    Path("users.csv")));
  CommandRun r =
      Ecps(fmt::format("train kmeans --config {} --features c,b --local --quiet --out {}",
                       Path("km.toml"), Path("km")));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(Json(dir_ / "km/metrics.json")["config"]["features"], nlohmann::json({"c", "b"}))
      << Slurp(dir_ / "km/metrics.json");
  // Without the option on the command line the file's list is used.
  CommandRun f = Ecps(fmt::format("train kmeans --config {} --local --quiet --out {}",
                                  Path("km.toml"), Path("km2")));
  EXPECT_EQ(f.rc, 2) << f.out;
  EXPECT_NE(f.out.find("no column \"nosuch\""), std::string::npos) << f.out;
}

TEST_F(Inputs, AValueTheOptionRefusesNamesTheConfigFileLineAndKey) {
  const std::string data = fmt::format("data = \"{}\"\nid-column = \"id\"\n", Path("users.csv"));
  const std::string kmeans =
      fmt::format("train kmeans --local --quiet --out {} --config ", Path("km"));
  Write("k.toml", data + "k = 0\nfeatures = [\"a\"]\n");
  ExpectError(
      kmeans + Path("k.toml"),
      fmt::format("ecps: error: {}:3: key \"k\": must be in [1, 1048576], not 0", Path("k.toml")));
  Write("inf.toml", data + "features = [\"a\"]\n\ntol = inf\n");
  ExpectError(kmeans + Path("inf.toml"),
              fmt::format("{}:5: key \"tol\": must be a finite number, not inf", Path("inf.toml")));
  Write("seed.toml", "seed = -1\n");
  ExpectError(
      fmt::format("generate --out {} --config {}", Path("shop"), Path("seed.toml")),
      fmt::format("{}:1: key \"seed\": must be a non-negative integer, not -1", Path("seed.toml")));
  // The same in a pipeline section.
  Write("p.toml",
        fmt::format("out = \"{}\"\n[segment]\n{}features = [\"a\"]\nk = -3\n", Path("p"), data));
  ExpectError(fmt::format("pipeline --config {} --local --quiet", Path("p.toml")),
              fmt::format("{} [segment]:6: key \"k\": must be a non-negative integer, not -3",
                          Path("p.toml")));
  EXPECT_FALSE(fs::exists(dir_ / "km"));
  EXPECT_FALSE(fs::exists(dir_ / "shop"));
}

TEST_F(Inputs, AnUnknownOptionIsNamedAsSuchWithTheClosestKnownOne) {
  // Named before CLI11's "--train is required", which would hide the misspelling.
  ExpectError("train lr --trian x.svm --out o",
              "ecps: error: `ecps train lr`: unknown option --trian; did you mean --train?");
  ExpectError(KMeans("--max-iters 3"), "unknown option --max-iters; did you mean --max-iter?");
  ExpectError(KMeans("--zzzzzz 3"), "`ecps train kmeans`: unknown option --zzzzzz; see --help");
  ExpectError(KMeans("-z"), "unknown option -z");
  // Values that start with a dash are values, not options; words after -- are not looked at.
  EXPECT_EQ(Ecps(Lr("--l2 0 --seed 3")).rc, 0);
  // In a config file: the key is named with its line and the closest key.
  Write("typo.toml", "max-iters = 3\n");
  ExpectError(KMeans("--config " + Path("typo.toml")),
              fmt::format("{}:1: unknown key \"max-iters\" for `kmeans` (did you mean "
                          "\"max-iter\"?)",
                          Path("typo.toml")));
  EXPECT_FALSE(fs::exists(dir_ / "km"));
}

TEST_F(Inputs, ShortKIsTheKOfTheModelAndHelpOffersOnlyAcceptedConsistencies) {
  // -k: the clusters of k-means as the neighbours of item-CF.
  CommandRun k = Ecps(fmt::format(
      "train kmeans --data {} --id-column id --features a,b -k 3 --local --quiet --out {}",
      Path("users.csv"), Path("k3")));
  ASSERT_EQ(k.rc, 0) << k.out;
  EXPECT_EQ(Json(dir_ / "k3/metrics.json")["k"], 3) << Slurp(dir_ / "k3/metrics.json");
  // train kmeans runs bsp only: its --help offers nothing else, and ssp is refused with why.
  CommandRun help = Ecps("train kmeans --help");
  EXPECT_NE(help.out.find("--consistency TEXT:{bsp}"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("asp"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("ssp:"), std::string::npos) << help.out;
  ExpectUsageError(KMeans("--consistency ssp"), "--consistency",
                   "ssp is not one of bsp (each iteration needs the previous one's centroids)");
  // train lr runs all three.
  EXPECT_NE(Ecps("train lr --help").out.find("--consistency TEXT:{bsp,ssp,asp}"), std::string::npos);
}

TEST_F(Inputs, APathWithACommaIsOnePath) {
  fs::create_directories(dir_ / "a,b");
  fs::copy_file(dir_ / "clicks.svm", dir_ / "a,b/train.svm");
  CommandRun r = Ecps(fmt::format("train lr --train '{}' --local --quiet --out {}",
                                  Path("a,b/train.svm"), Path("lr")));
  EXPECT_EQ(r.rc, 0) << r.out;
  // Several files: separate values, or one --train each; from a config, a list.
  CommandRun two = Ecps(fmt::format("train lr --train '{}' {} --local --quiet --out {}",
                                    Path("a,b/train.svm"), Path("clicks.svm"), Path("lr2")));
  EXPECT_EQ(two.rc, 0) << two.out;
  const auto m = Json(dir_ / "lr2/metrics.json");
  EXPECT_EQ(m["train_rows"].get<int>() + m["eval_rows"].get<int>(), 120) << m.dump();
  Write("lr.toml", fmt::format("train = [\"{}\"]\n", Path("a,b/train.svm")));
  CommandRun c = Ecps(
      fmt::format("train lr --config {} --local --quiet --out {}", Path("lr.toml"), Path("lr3")));
  EXPECT_EQ(c.rc, 0) << c.out;
}

TEST_F(Inputs, ADuplicateCsvHeaderNameIsRefusedWithFileLineAndName) {
  Write("dup.csv", "x,c,x,y\n1,a,2,0\n2,b,3,1\n");
  CommandRun r =
      Ecps(fmt::format("train lr --train {} --format csv --label-column y --local --quiet --out {}",
                       Path("dup.csv"), Path("lr")));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(
      r.out.find(fmt::format("{}:1: column \"x\" appears twice in the header (columns 1 and 3)",
                             Path("dup.csv"))),
      std::string::npos)
      << r.out;
  Write("dupusers.csv", "id,a,a\n1,2,3\n2,3,4\n3,1,1\n");
  CommandRun k = Ecps(fmt::format(
      "train kmeans --data {} --id-column id --features a --k 2 --local --quiet --out {}",
      Path("dupusers.csv"), Path("km")));
  EXPECT_EQ(k.rc, 2) << k.out;
  EXPECT_NE(k.out.find("column \"a\" appears twice"), std::string::npos) << k.out;
}

TEST_F(Inputs, BlankLinesAreSkippedByEveryReader) {
  // A blank line holds no row: lr (CSV and libsvm), predict and k-means all skip it.
  Write("blank.csv", "x,c,y\n1,a,0\n\n2,b,1\n   \n3,a,0\n4,b,1\n\n");
  Write("blank.svm", "1 1:1\n\n0 2:1\n1 1:1 3:1\n\n0 2:1\n");
  // predict's ids are the line numbers of the rows.
  for (const auto& [file, format, ids] :
       {std::tuple<std::string, std::string, std::string>{"blank.csv", "csv --label-column y",
                                                          "2 4 6 7 "},
        {"blank.svm", "libsvm", "1 3 4 6 "}}) {
    CommandRun r =
        Ecps(fmt::format("train lr --train {} --format {} --holdout 0 --local --quiet --out {}",
                         Path(file), format, Path("lr_" + file)));
    ASSERT_EQ(r.rc, 0) << file << "\n" << r.out;
    EXPECT_EQ(Json(dir_ / ("lr_" + file) / "metrics.json")["train_rows"], 4) << file;
    CommandRun p =
        Ecps(fmt::format("predict --model {} --data {} --out -", Path("lr_" + file), Path(file)));
    ASSERT_EQ(p.rc, 0) << file << "\n" << p.out;
    EXPECT_EQ(std::count(p.out.begin(), p.out.end(), '\n'), 5)
        << "a header, one line per row:\n" << p.out;
    std::istringstream lines(p.out);
    std::string got;
    for (std::string line; std::getline(lines, line);) {
      if (line != "id,probability") got += line.substr(0, line.find(',')) + " ";
    }
    EXPECT_EQ(got, ids) << p.out;
  }
  Write("blankusers.csv", "id,a\n1,2\n\n2,3\n3,9\n\n");
  CommandRun k = Ecps(fmt::format(
      "train kmeans --data {} --id-column id --features a --k 2 --local --quiet --out {}",
      Path("blankusers.csv"), Path("km")));
  EXPECT_EQ(k.rc, 0) << k.out;
}

}  // namespace
}  // namespace ecps::testing
