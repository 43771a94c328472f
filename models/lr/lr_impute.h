// --impute for the numeric CSV columns of `train lr`: what an empty field (a missing value;
// the parser leaves its key out of the row) becomes. Without it the key stays absent: 0, i.e.
// the present values' mean once the column is standardised, or 0 with --no-standardize.
// With it: kDrop drops the rows (training and evaluation), kZero / kMean / kMedian fill the
// value (0, the mean or the lower median of the column's present training values over every
// worker) before the scaling. The fills are saved in the model; predict fills alike (a
// kDrop model scores such a row as NaN).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/vector.hpp>
#include <nlohmann/json.hpp>

#include "ps/node.h"
#include "ps/status.h"
#include "worker/example_parser.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

enum class ImputeMode : std::uint8_t { kNone, kDrop, kZero, kMean, kMedian };
/// "none", "drop", "zero", "mean" or "median"; ParseImputeMode is its inverse.
const char* ImputeModeName(ImputeMode m);
Result<ImputeMode> ParseImputeMode(const std::string& name);

/// A mode and, for kZero/kMean/kMedian, the raw value filling each numeric column.
struct Imputation {
  ImputeMode mode = ImputeMode::kNone;
  std::vector<double> fill;
  bool fills() const { return mode == ImputeMode::kZero || mode == ImputeMode::kMean || mode == ImputeMode::kMedian; }
  template <class A>
  void serialize(A& ar) { ar(mode, fill); }
};

/// Per numeric column, the rows of `data` that miss it; `rows_missing`: rows missing any.
std::vector<std::uint64_t> CountMissing(const worker::SparseData& data, const worker::ExampleParser& parser,
                                        std::uint64_t* rows_missing);

struct SetupReport;
/// Worker: `report`'s statistics of the present numeric values of `train` (needs its values
/// kept) and, for --impute, its missing counts of `train` (per column, rows) and `test` (rows).
void ReportNumeric(const worker::SparseData& train, const worker::SparseData& test,
                   const worker::ExampleParser& parser, bool impute, SetupReport* report);

/// Checks a loaded model's `imp` against its `numeric` column count (DataError).
Status CheckImputation(const Imputation& imp, std::size_t numeric);

/// Per row of `data`, whether it misses a numeric column.
std::vector<bool> IncompleteRows(const worker::SparseData& data, const worker::ExampleParser& parser);

/// Applies `imp` to `data` (needs its values kept): kDrop keeps the complete rows; a fill
/// adds the missing columns' keys with their fill values. Nothing for kNone or no numeric
/// columns.
void Impute(const Imputation& imp, const worker::ExampleParser& parser, worker::SparseData* data);

/// Scoring rows with a model's `imp` (predict, serve): fills them, or for kDrop returns which
/// rows miss a value (their score is to be NaN / null; every row keeps its place).
std::vector<bool> ImputeForScoring(const Imputation& imp, const worker::ExampleParser& parser,
                                   worker::SparseData* data);

/// Per numeric column its present values of `data`, ascending (for the median's counts).
std::vector<std::vector<float>> SortedColumns(const worker::SparseData& data, const worker::ExampleParser& parser);

/// The ordered 64-bit image of a double (and back): a < b iff Ordered(a) < Ordered(b).
std::uint64_t Ordered(double x);
double FromOrdered(std::uint64_t u);

/// Scheduler: the fill of every numeric column for `mode` (kZero, kMean, kMedian) from the
/// merged statistics of the present training values (`count`, `sum`, `min` per column); the
/// median by bisection rounds over the doubles' order with the `workers` (at most 64, each a
/// broadcast of the candidates and a gather of the counts at or below them; MedianCounts on
/// the workers). DataError naming the column when mean or median has no value.
Result<std::vector<double>> ComputeFills(ImputeMode mode, const std::vector<double>& count,
                                         const std::vector<double>& sum, const std::vector<double>& min,
                                         const std::vector<std::string>& columns, ps::Node& node,
                                         const std::vector<ps::Rank>& workers);
/// Scheduler: merges the workers' missing counts into `all` (whose numeric statistics are
/// merged), takes kDrop's rows out of its row counts, and computes the fills (ComputeFills).
Result<Imputation> PlanImputation(ImputeMode mode, const std::vector<SetupReport>& reports,
                                  const std::vector<std::string>& columns, ps::Node& node,
                                  const std::vector<ps::Rank>& workers, SetupReport* all);
/// Worker: answers ComputeFills' median rounds from its `sorted` columns (SortedColumns).
Status MedianCounts(ps::Node& node, const std::vector<ps::Rank>& workers,
                    const std::vector<std::vector<float>>& sorted);

/// metrics.json's "impute": mode, per column its missing training values and fill, and the
/// training rows dropped.
nlohmann::json ImputeJson(const Imputation& imp, const std::vector<std::string>& columns,
                          const std::vector<std::uint64_t>& missing, std::uint64_t rows_dropped);

}  // namespace ecps::models::lr
