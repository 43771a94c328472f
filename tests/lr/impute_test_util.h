// Helpers shared by the --impute tests of train lr and train linreg: a CSV with empty fields,
// the fills computed independently, a copy filled by hand, predict's scores.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/run_ecps.h"
#include "tests/lr/lr_test_util.h"

namespace ecps::testing {

/// Rows of <label>,age,spend,city; age missing in every 7th row, spend in every 5th.
struct ImputeData {
  std::string text;
  std::vector<double> age, spend;  // present values
  int rows = 0, complete = 0;
};

/// `rows` rows; `label(i, age, spend)` is row i's label field.
inline ImputeData MakeImputeData(int rows, int shift, const std::string& label_column,
                                 const std::function<std::string(int, int, int)>& label) {
  ImputeData d;
  d.text = label_column + ",age,spend,city\n";
  for (int i = 0; i < rows; ++i) {
    const int age = 18 + (i * 7 + shift) % 50, spend = (i * 13 + shift) % 200;
    const bool no_age = i % 7 == 3, no_spend = i % 5 == 1;
    d.text += fmt::format("{},{},{},c{}\n", label(i, age, spend), no_age ? "" : std::to_string(age),
                          no_spend ? "" : std::to_string(spend), i % 7);
    if (!no_age) d.age.push_back(age);
    if (!no_spend) d.spend.push_back(spend);
    d.complete += !no_age && !no_spend;
  }
  d.rows = rows;
  return d;
}

/// `data`'s text with each empty age and spend field replaced by `age` and `spend`.
inline std::string FillByHand(const ImputeData& data, double age, double spend) {
  std::istringstream in(data.text);
  std::string line, filled;
  std::getline(in, filled);
  filled += "\n";
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f[1].empty()) f[1] = fmt::format("{:.17g}", age);
    if (f[2].empty()) f[2] = fmt::format("{:.17g}", spend);
    filled += fmt::format("{},{},{},{}\n", f[0], f[1], f[2], f[3]);
  }
  return filled;
}

inline double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

inline double LowerMedian(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

inline nlohmann::json MetricsOf(const std::string& out) {
  return nlohmann::json::parse(ReadText(out + "/metrics.json"));
}

/// The second column of predict's output.
inline std::vector<std::string> Scores(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(ReadText(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) out.push_back(line.substr(line.find(',') + 1));
  return out;
}

using Fill = std::pair<double, double>;  // age, spend

/// zero, mean and median with their fills computed here from `train`'s present values.
inline std::vector<std::pair<const char*, Fill>> ExpectedFills(const ImputeData& train) {
  return {{"zero", {0, 0}},
          {"mean", {Mean(train.age), Mean(train.spend)}},
          {"median", {LowerMedian(train.age), LowerMedian(train.spend)}}};
}

/// Checks metrics.json's "impute" of a run with fill `mode` on `train`.
inline void ExpectImputeJson(const nlohmann::json& imp, const char* mode, const ImputeData& train,
                             Fill fill) {
  EXPECT_EQ(imp["mode"], mode);
  EXPECT_EQ(imp["columns"]["age"]["missing"], train.rows - static_cast<int>(train.age.size()));
  EXPECT_EQ(imp["columns"]["spend"]["missing"], train.rows - static_cast<int>(train.spend.size()));
  EXPECT_DOUBLE_EQ(imp["columns"]["age"]["fill"].get<double>(), fill.first);
  EXPECT_DOUBLE_EQ(imp["columns"]["spend"]["fill"].get<double>(), fill.second);
  EXPECT_EQ(imp["rows_dropped"], 0);
}

/// predict of `model` on dir/test.csv (`test`) equals predict on a copy filled by hand with
/// `fill` (dir/filled.csv, scored into dir/p2.csv).
inline void ExpectPredictFillsAlike(const std::string& model, const TempDir& dir,
                                    const ImputeData& test, Fill fill) {
  WriteText(dir / "filled.csv", FillByHand(test, fill.first, fill.second));
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", model, dir / "test.csv",
                                dir / "p1.csv"))
                .exit_code,
            0);
  ASSERT_EQ(RunEcps(fmt::format("predict --model {} --data {} --out {}", model, dir / "filled.csv",
                                dir / "p2.csv"))
                .exit_code,
            0);
  EXPECT_EQ(Scores(dir / "p1.csv"), Scores(dir / "p2.csv"));
}

}  // namespace ecps::testing
