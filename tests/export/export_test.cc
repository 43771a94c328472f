// `ecps export` through the real binary: each model trained on generated data, exported, and
// scored again by tests/export/rescore.py (python3 and numpy alone: the hashing reimplemented
// from the JSON's specification, the ONNX graphs run by a small numpy interpreter after
// onnx.checker), which must reproduce `ecps predict` / `ecps segment` / neighbors.csv.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

class Export : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = FreshDir("export"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return "'" + (dir_ / name).string() + "'"; }

  // Runs ecps with `args` (paths relative to the test folder through Path); must succeed.
  std::string Ecps(const std::string& args) {
    std::string out;
    const auto r = RunEcps(args, &out);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return out;
  }

  void Generate() { Ecps(fmt::format("generate --out {} --users 300 --items 60", Path("gen"))); }

  // rescore.py `args`: must exit 0 (it prints what differs otherwise).
  void Rescore(const std::string& args) {
    const std::string cmd = fmt::format("cd '{}' && {} '{}/tests/export/rescore.py' {} 2>&1",
                                        dir_.string(), ECPS_TEST_PYTHON, ECPS_SOURCE_DIR, args);
    const std::string log = (dir_ / "rescore.log").string();
    const int rc = std::system((cmd + " > '" + log + "'").c_str());  // NOLINT
    EXPECT_EQ(rc, 0) << cmd << "\n" << ReadBytes(log);
  }

  // A CSV of sessions: an id column, two categorical columns (one value quoted with the
  // delimiter inside, one with spaces around, one not ASCII), an integer column, a numeric
  // column with empty fields and negative values, and a 0/1 label.
  void WriteSessions(const std::string& name) {
    std::mt19937_64 rng(7);
    std::string text = "session,browser,region,pages,amount,clicked\n";
    const char* browsers[] = {"chrome", "firefox", "\"safari, mobile\"", " edge "};
    const char* regions[] = {"north", "south", "east", "\xc3\xb1orte"};
    for (int i = 0; i < 600; ++i) {
      const int b = static_cast<int>(rng() % 4), g = static_cast<int>(rng() % 4);
      const int pages = static_cast<int>(rng() % 41);
      const double u = static_cast<double>(rng() % 10000) / 10000.0;
      const std::string amount = rng() % 10 == 0 ? "" : fmt::format("{:.2f}", u * 120.0 - 5.0);
      const int y =
          static_cast<double>(rng() % 1000) / 1000.0 < 0.1 + pages / 200.0 + (b == 2 ? 0.2 : 0.0);
      text += fmt::format("s{:05d},{},{},{},{},{}\n", i, browsers[b], regions[g], pages, amount, y);
    }
    WriteBytes(dir_ / name, text);
  }

  fs::path dir_;
};

TEST_F(Export, LrLibsvmJsonAndOnnxReproducePredict) {
  Generate();
  Ecps(fmt::format("train lr --train {} --test {} --hash-bits 12 --local -q --out {}",
                   Path("gen/impressions.libsvm"), Path("gen/impressions_test.libsvm"),
                   Path("lr")));
  Ecps(fmt::format("predict --model {} --data {} --out {}", Path("lr"),
                   Path("gen/impressions_test.libsvm"), Path("p.csv")));
  Ecps(fmt::format("export --model {} --format json --out {}", Path("lr"), Path("lr.json")));
  Ecps(fmt::format("export --model {} --format onnx --out {}", Path("lr/model.bin"),
                   Path("lr.onnx")));
  Rescore("lr lr.json gen/impressions_test.libsvm p.csv");
  Rescore("onnx-lr lr.onnx lr.json gen/impressions_test.libsvm p.csv");
  // Without --featindex, every non-zero weight of hashed libsvm data is named by its indices.
  const auto j = nlohmann::json::parse(ReadBytes(dir_ / "lr.json"));
  ASSERT_FALSE(j["weights"].empty());
  for (const auto& w : j["weights"]) EXPECT_TRUE(w["feature"].is_string()) << w.dump();
  std::istringstream csv(ReadBytes(dir_ / "lr/weights.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "feature,key,weight");
  int rows = 0;
  for (; std::getline(csv, line); ++rows) {
    EXPECT_TRUE(line.starts_with("(bias),") ||
                std::isdigit(static_cast<unsigned char>(line[line[0] == '"' ? 1 : 0])))
        << "weights.csv names each hashed key by its indices: " << line;
  }
  EXPECT_EQ(rows, static_cast<int>(j["weights"].size()));
}

TEST_F(Export, LrCsvJsonAndOnnxReproducePredict) {
  WriteSessions("s.csv");
  Ecps(fmt::format(
      "train lr --train {} --format csv --label-column clicked --hash-bits 10 --local -q --out {}",
      Path("s.csv"), Path("lr")));
  Ecps(fmt::format("predict --model {} --data {} --id-column session --out {}", Path("lr"),
                   Path("s.csv"), Path("p.csv")));
  Ecps(fmt::format("export --model {} --out {}", Path("lr"), Path("lr.json")));
  Ecps(fmt::format("export --model {} --format onnx --out {}", Path("lr"), Path("lr.onnx")));
  Rescore("lr lr.json s.csv p.csv");
  Rescore("onnx-lr lr.onnx lr.json s.csv p.csv");
  const auto j = nlohmann::json::parse(ReadBytes(dir_ / "lr.json"));
  EXPECT_EQ(j["features"]["numeric_columns"].size(), 2u);
  EXPECT_EQ(j["features"]["categorical_columns"].size(), 2u);
  EXPECT_EQ(j["link"], "logistic");
}

TEST_F(Export, LinRegJsonReproducesPredict) {
  WriteSessions("s.csv");
  Ecps(fmt::format("train linreg --train {} --format csv --label-column pages --local -q --out {}",
                   Path("s.csv"), Path("lin")));
  Ecps(fmt::format("predict --model {} --data {} --id-column session --out {}", Path("lin"),
                   Path("s.csv"), Path("p.csv")));
  Ecps(fmt::format("export --model {} --out {}", Path("lin"), Path("lin.json")));
  Rescore("linreg lin.json s.csv p.csv");
  // linreg has no ONNX export: refused as a usage error naming the format.
  const auto r =
      RunEcps(fmt::format("export --model {} --format onnx --out {}", Path("lin"), Path("x.onnx")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--format onnx"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x.onnx"));
}

// --impute travels with the export: its method and each numeric column's fill (the sessions'
// amount column has empty fields), and rescore.py, applying them from the JSON alone, matches
// predict (a drop model's incomplete rows are NaN on both sides).
TEST_F(Export, ImputationIsInTheJsonAndReproducesPredict) {
  WriteSessions("s.csv");
  struct Case {
    const char* command;
    const char* label;
    const char* mode;
  };
  for (const Case& c : {Case{"lr", "clicked", "median"}, Case{"linreg", "pages", "mean"},
                        Case{"lr", "clicked", "drop"}}) {
    SCOPED_TRACE(fmt::format("{} --impute {}", c.command, c.mode));
    const std::string name = fmt::format("{}_{}", c.command, c.mode);
    Ecps(fmt::format("train {} --train {} --format csv --label-column {} --impute {} --local -q --out {}",
                     c.command, Path("s.csv"), c.label, c.mode, Path(name)));
    Ecps(fmt::format("predict --model {} --data {} --id-column session --out {}", Path(name),
                     Path("s.csv"), Path(name + ".csv")));
    Ecps(fmt::format("export --model {} --out {}", Path(name), Path(name + ".json")));
    const auto j = nlohmann::json::parse(ReadBytes(dir_ / (name + ".json")));
    const auto& imp = j["features"]["impute"];
    EXPECT_EQ(imp["method"], c.mode) << imp.dump();
    const std::string mode = c.mode;
    for (const auto& n : j["features"]["numeric_columns"]) {
      if (mode == "drop") {
        EXPECT_FALSE(n.contains("fill")) << n.dump();
        continue;
      }
      const std::string column = n["column"];
      ASSERT_TRUE(n["fill"].is_number()) << n.dump();
      EXPECT_EQ(imp["fill"][column], n["fill"]) << imp.dump();
    }
    if (mode != "drop") {
      EXPECT_EQ(imp["fill"].size(), j["features"]["numeric_columns"].size());
    }
    Rescore(fmt::format("{} {}.json s.csv {}.csv", c.command, name, name));
  }
  // The median of amount is one of its values; the mean lies within them.
  const auto lr = nlohmann::json::parse(ReadBytes(dir_ / "lr_median.json"));
  const double median = lr["features"]["impute"]["fill"]["amount"];
  EXPECT_NE(ReadBytes(dir_ / "s.csv").find(fmt::format(",{:.2f},", median)), std::string::npos) << median;
  // A model without --impute says so.
  Ecps(fmt::format("train lr --train {} --format csv --label-column clicked --local -q --out {}",
                   Path("s.csv"), Path("plain")));
  Ecps(fmt::format("export --model {} --out {}", Path("plain"), Path("plain.json")));
  const auto plain = nlohmann::json::parse(ReadBytes(dir_ / "plain.json"));
  EXPECT_EQ(plain["features"]["impute"]["method"], "none");
}

TEST_F(Export, LibffmAndDirectIndicesReproducePredict) {
  // libffm (field:index:value, values other than 1, a comment) and libsvm with indices used
  // as they are (--num-features): the other two key rules of the specification.
  std::mt19937_64 rng(11);
  std::string ffm, svm;
  for (int i = 0; i < 800; ++i) {
    const int y = static_cast<int>(rng() % 3 == 0);
    ffm += std::to_string(y);
    svm += std::to_string(static_cast<int>(rng() % 100));
    for (int f = 0; f < 4; ++f) {
      const auto idx = rng() % (y ? 30 : 40);
      ffm += fmt::format(" {}:{}:{}", f, idx, f == 3 ? 0.25 * static_cast<double>(rng() % 9) : 1.0);
      svm += fmt::format(" {}:{:.3f}", (idx * 7 + static_cast<unsigned>(f)) % 50,
                         static_cast<double>(rng() % 1000) / 300.0);
    }
    ffm += i % 50 == 0 ? " # comment\n" : "\n";
    svm += "\n";
  }
  WriteBytes(dir_ / "c.ffm", ffm);
  WriteBytes(dir_ / "v.svm", svm);
  Ecps(fmt::format("train lr --train {} --format libffm --hash-bits 11 --local -q --out {}",
                   Path("c.ffm"), Path("ffm")));
  Ecps(fmt::format("predict --model {} --data {} --out {}", Path("ffm"), Path("c.ffm"),
                   Path("p.csv")));
  Ecps(fmt::format("export --model {} --out {}", Path("ffm"), Path("ffm.json")));
  Rescore("lr ffm.json c.ffm p.csv");
  const auto ffm_export = nlohmann::json::parse(ReadBytes(dir_ / "ffm.json"));  // outlives the loop
  for (const auto& w : ffm_export["weights"]) {
    const std::string name = w["feature"].get<std::string>();
    EXPECT_TRUE(name == "(bias)" || (std::isdigit(static_cast<unsigned char>(name[0])) &&
                                     name.find(':') != std::string::npos))
        << "field:index names: " << name;
  }
  Ecps(fmt::format("train linreg --train {} --num-features 50 --local -q --out {}", Path("v.svm"),
                   Path("lin")));
  Ecps(fmt::format("predict --model {} --data {} --out {}", Path("lin"), Path("v.svm"),
                   Path("q.csv")));
  Ecps(fmt::format("export --model {} --out {}", Path("lin"), Path("lin.json")));
  Rescore("linreg lin.json v.svm q.csv");
  const auto j = nlohmann::json::parse(ReadBytes(dir_ / "lin.json"));
  EXPECT_FALSE(j["features"]["hashed"].get<bool>());
  for (const auto& w : j["weights"]) {
    const auto k = w["key"].get<std::uint64_t>();
    EXPECT_EQ(w["feature"], k == 50 ? std::string("(intercept)") : std::to_string(k)) << w.dump();
  }
}

TEST_F(Export, KMeansJsonAndOnnxReproduceSegment) {
  Generate();
  const char* runs[][2] = {{"minmax", "--one-hot"}, {"zscore", "--one-hot"}, {"none", "--ordinal"}};
  for (const auto& [normalize, encoding] : runs) {
    SCOPED_TRACE(normalize);
    Ecps(fmt::format(
        "train kmeans --data {} --id-column user_id --features age,gender,purchase_frequency,"
        "rating {} 'gender=F|M|X' --k 4 --normalize {} --anomaly-rate 0.05 --local -q --out {}",
        Path("gen/users.csv"), encoding, normalize, Path("km")));
    Ecps(fmt::format("segment --model {} --data {} --out {}", Path("km"), Path("gen/users.csv"),
                     Path("s.csv")));
    Ecps(fmt::format("export --model {} --out {}", Path("km"), Path("km.json")));
    Ecps(fmt::format("export --model {} --format onnx --out {}", Path("km"), Path("km.onnx")));
    Rescore("kmeans km.json gen/users.csv s.csv");
    Rescore("onnx-kmeans km.onnx km.json gen/users.csv s.csv");
    const auto j = nlohmann::json::parse(ReadBytes(dir_ / "km.json"));
    EXPECT_EQ(j["features"].size(), std::string(encoding) == "--one-hot" ? 6u : 4u);
    EXPECT_EQ(j["profiles"]["segments"].size(), 4u) << "profiles.json is included";
  }
}

TEST_F(Export, CfJsonHoldsTheNeighbourLists) {
  Generate();
  for (const char* kind : {"itemcf", "usercf"}) {
    SCOPED_TRACE(kind);
    Ecps(fmt::format("train {} --train {} --local -q --out {}", kind, Path("gen/interactions.csv"),
                     Path(kind)));
    Ecps(fmt::format("export --model {} --out {}", Path(kind), Path("cf.json")));
    Rescore(fmt::format("cf cf.json {}/neighbors.csv", kind));
    const auto j = nlohmann::json::parse(ReadBytes(dir_ / "cf.json"));
    EXPECT_EQ(j["model"], kind);
    EXPECT_EQ(j["neighbors_of"], std::string(kind) == "itemcf" ? "items" : "users");
    EXPECT_EQ(j["items"], 60);
  }
}

TEST_F(Export, ASealedModelNeedsItsKey) {
  Generate();
  WriteBytes(dir_ / "key", "export test key, 32 bytes long..");
  fs::permissions(dir_ / "key", fs::perms::owner_read | fs::perms::owner_write);
  const std::string train = fmt::format(
      "train kmeans --data {} --id-column user_id --features age,rating --k 3 --local -q --out {}",
      Path("gen/users.csv"), Path("km"));
  Ecps(train + " --encrypt-key " + Path("key"));
  Ecps(fmt::format("segment --model {} --data {} --encrypt-key {} --out {}", Path("km"),
                   Path("gen/users.csv"), Path("key"), Path("s.csv")));
  const auto r = RunEcps(fmt::format("export --model {} --out {}", Path("km"), Path("km.json")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--encrypt-key"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "km.json"));
  Ecps(fmt::format("export --model {} --encrypt-key {} --out {}", Path("km"), Path("key"),
                   Path("km.json")));
  Rescore("kmeans km.json gen/users.csv s.csv");
}

TEST_F(Export, RefusalsNameTheProblem) {
  fs::create_directories(dir_ / "empty");
  auto r = RunEcps(fmt::format("export --model {} --out {}", Path("empty"), Path("x.json")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no ecps model"), std::string::npos) << r.err;
  r = RunEcps(
      fmt::format("export --model {} --format xml --out {}", Path("empty"), Path("x.json")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x.json"));
}

}  // namespace
}  // namespace ecps::testing
