// The threshold metrics of `train lr` through the real binary: at a low click rate no example
// reaches 0.5, and the run says so (a warning naming the F1-best threshold) instead of
// reporting recall 0 and accuracy = the share of negatives in silence; metrics.json carries
// best_f1 either way.
#include <gtest/gtest.h>

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/common/files.h"
#include "tests/common/run_ecps.h"

namespace ecps::testing {
namespace {

namespace fs = std::filesystem;

// `rows` libsvm lines; every `every`-th is a click, and clicks have feature 1 set more often.
void WriteClicks(const fs::path& file, int rows, int every) {
  std::ofstream out(file);
  for (int i = 0; i < rows; ++i) {
    const bool click = i % every == 0;
    const bool f1 = click ? i % 3 != 1 : i % 4 == 0;
    out << (click ? 1 : 0) << " " << (f1 ? "1:1 " : "") << 2 + i % 5 << ":1\n";
  }
}

nlohmann::json Train(const fs::path& dir, const std::string& file, std::string* err) {
  const auto r = RunEcps(fmt::format("train lr --train '{}' --holdout 0.3 --epochs 3 --local --out '{}'",
                                     (dir / file).string(), (dir / (file + ".out")).string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  *err = r.err;
  std::ifstream in(dir / (file + ".out") / "metrics.json");
  return nlohmann::json::parse(in);
}

TEST(LrThreshold, NoPositiveAtTheThresholdIsWarnedWithTheF1BestOne) {
  const fs::path dir = FreshDir("lr_threshold");
  WriteClicks(dir / "rare.svm", 4000, 9);  // 11% clicks: every probability stays below 0.5
  std::string err;
  const auto m = Train(dir, "rare.svm", &err);
  ASSERT_EQ(m["predicted_positive_at_threshold"], 0.0) << m.dump(2);
  EXPECT_EQ(m["recall"], 0.0);
  EXPECT_TRUE(m["precision"].is_null());
  ASSERT_TRUE(m["best_f1"].is_object()) << m.dump(2);
  const double t = m["best_f1"]["threshold"].get<double>();
  EXPECT_GT(t, 0.0);
  EXPECT_LT(t, 0.5);
  EXPECT_GT(m["best_f1"]["f1"].get<double>(), 0.2) << "feature 1 separates the clicks";
  EXPECT_NE(err.find("warning: lr: no evaluated example scores >= --threshold 0.5"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(fmt::format("from --threshold {:.4g}", t)), std::string::npos) << err;

  WriteClicks(dir / "even.svm", 4000, 2);  // 50% clicks: positives at 0.5, no warning
  const auto e = Train(dir, "even.svm", &err);
  EXPECT_GT(e["predicted_positive_at_threshold"].get<double>(), 0.0) << e.dump(2);
  EXPECT_TRUE(e["best_f1"].is_object());
  EXPECT_EQ(err.find("no evaluated example scores"), std::string::npos) << err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecps::testing
