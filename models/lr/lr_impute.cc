#include "models/lr/lr_impute.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>

#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include "models/lr/lr_messages.h"
#include "ps/collective.h"

namespace ecps::models::lr {

const char* ImputeModeName(ImputeMode m) {
  switch (m) {
    case ImputeMode::kNone: return "none";
    case ImputeMode::kDrop: return "drop";
    case ImputeMode::kZero: return "zero";
    case ImputeMode::kMean: return "mean";
    case ImputeMode::kMedian: return "median";
  }
  return "?";
}

Result<ImputeMode> ParseImputeMode(const std::string& name) {
  for (ImputeMode m : {ImputeMode::kNone, ImputeMode::kDrop, ImputeMode::kZero, ImputeMode::kMean, ImputeMode::kMedian}) {
    if (name == ImputeModeName(m)) return m;
  }
  return InvalidArgument(fmt::format("--impute \"{}\" (none, drop, zero, mean or median)", name));
}

namespace {
// Calls f(j) for every numeric column j that row r misses.
template <class F>
void ForMissing(const worker::SparseData& data, std::size_t r, std::uint64_t first, std::size_t columns, F f) {
  std::vector<bool> seen(columns, false);
  for (std::uint32_t k : data.keys(r)) {
    if (k >= first && k - first < columns) seen[k - first] = true;
  }
  for (std::size_t j = 0; j < columns; ++j) {
    if (!seen[j]) f(j);
  }
}
}  // namespace

std::vector<std::uint64_t> CountMissing(const worker::SparseData& data, const worker::ExampleParser& parser,
                                        std::uint64_t* rows_missing) {
  const std::size_t columns = parser.csv_columns().numeric.size();
  std::vector<std::uint64_t> missing(columns, 0);
  *rows_missing = 0;
  if (columns == 0) return missing;
  const std::uint64_t first = parser.numeric_key(0);
  for (std::size_t r = 0; r < data.rows(); ++r) {
    bool any = false;
    ForMissing(data, r, first, columns, [&](std::size_t j) {
      ++missing[j];
      any = true;
    });
    if (any) ++*rows_missing;
  }
  return missing;
}

void ReportNumeric(const worker::SparseData& train, const worker::SparseData& test,
                   const worker::ExampleParser& parser, bool impute, SetupReport* report) {
  const std::size_t columns = parser.csv_columns().numeric.size();
  report->numeric.Resize(columns);
  if (columns > 0) {
    const std::uint64_t first = parser.numeric_key(0);
    for (std::size_t r = 0; r < train.rows(); ++r) {
      const auto ks = train.keys(r);
      const float* vs = train.values(r);
      for (std::size_t i = 0; i < ks.size(); ++i) {
        if (ks[i] >= first) report->numeric.Add(ks[i] - first, vs[i]);
      }
    }
  }
  if (impute) {
    report->missing = CountMissing(train, parser, &report->rows_missing);
    CountMissing(test, parser, &report->test_rows_missing);
  }
}

Status CheckImputation(const Imputation& imp, std::size_t numeric) {
  if (imp.mode > ImputeMode::kMedian || (imp.fills() && imp.fill.size() != numeric) ||
      !std::all_of(imp.fill.begin(), imp.fill.end(), [](double v) { return std::isfinite(v); })) {
    return DataError(fmt::format("--impute {} with {} fill values for {} numeric columns",
                                 static_cast<int>(imp.mode), imp.fill.size(), numeric));
  }
  return Status::Ok();
}

std::vector<bool> IncompleteRows(const worker::SparseData& data, const worker::ExampleParser& parser) {
  const std::size_t columns = parser.csv_columns().numeric.size();
  std::vector<bool> out(data.rows(), false);
  if (columns == 0) return out;
  const std::uint64_t first = parser.numeric_key(0);
  for (std::size_t r = 0; r < data.rows(); ++r) ForMissing(data, r, first, columns, [&](std::size_t) { out[r] = true; });
  return out;
}

void Impute(const Imputation& imp, const worker::ExampleParser& parser, worker::SparseData* data) {
  const std::size_t columns = parser.csv_columns().numeric.size();
  if (imp.mode == ImputeMode::kNone || columns == 0 || data->rows() == 0) return;
  const std::uint64_t first = parser.numeric_key(0);
  if (imp.mode == ImputeMode::kDrop) {
    const std::vector<bool> incomplete = IncompleteRows(*data, parser);
    *data = data->Select([&](std::size_t r) { return !incomplete[r]; });
    return;
  }
  auto block = std::make_shared<worker::RowBlock>();
  block->all_ones = false;
  std::vector<float> numeric(columns);
  for (std::size_t r = 0; r < data->rows(); ++r) {
    // The parser's order: the other keys, then every numeric column in column order.
    for (std::size_t j = 0; j < columns; ++j) numeric[j] = static_cast<float>(imp.fill[j]);
    const auto ks = data->keys(r);
    const float* vs = data->values(r);
    for (std::size_t i = 0; i < ks.size(); ++i) {
      const float v = vs ? vs[i] : 1.0f;
      if (ks[i] >= first && ks[i] - first < columns) {
        numeric[ks[i] - first] = v;
      } else {
        block->keys.push_back(ks[i]);
        block->values.push_back(v);
      }
    }
    for (std::size_t j = 0; j < columns; ++j) {
      block->keys.push_back(static_cast<std::uint32_t>(first + j));
      block->values.push_back(numeric[j]);
    }
    block->row_ptr.push_back(block->keys.size());
    block->labels.push_back(data->label(r));
    block->ids.push_back(data->id(r));
  }
  *data = worker::SparseData::FromBlocks({std::move(block)}, true);
}

std::vector<bool> ImputeForScoring(const Imputation& imp, const worker::ExampleParser& parser,
                                   worker::SparseData* data) {
  if (imp.mode == ImputeMode::kDrop) return IncompleteRows(*data, parser);
  Impute(imp, parser, data);
  return {};
}

std::vector<std::vector<float>> SortedColumns(const worker::SparseData& data, const worker::ExampleParser& parser) {
  const std::size_t columns = parser.csv_columns().numeric.size();
  std::vector<std::vector<float>> out(columns);
  if (columns == 0) return out;
  const std::uint64_t first = parser.numeric_key(0);
  for (std::size_t r = 0; r < data.rows(); ++r) {
    const auto ks = data.keys(r);
    const float* vs = data.values(r);
    for (std::size_t i = 0; i < ks.size(); ++i) {
      if (ks[i] >= first && ks[i] - first < columns) out[ks[i] - first].push_back(vs ? vs[i] : 1.0f);
    }
  }
  for (auto& c : out) std::sort(c.begin(), c.end());
  return out;
}

std::uint64_t Ordered(double x) {
  const auto u = std::bit_cast<std::uint64_t>(x);
  return (u >> 63) ? ~u : u | (std::uint64_t{1} << 63);
}

double FromOrdered(std::uint64_t u) {
  return std::bit_cast<double>((u >> 63) ? u & ~(std::uint64_t{1} << 63) : ~u);
}

namespace {
struct MedianAsk {
  bool done = false;
  std::vector<double> at;
  template <class A>
  void serialize(A& ar) { ar(done, at); }
};
}  // namespace

Result<std::vector<double>> ComputeFills(ImputeMode mode, const std::vector<double>& count,
                                         const std::vector<double>& sum, const std::vector<double>& min,
                                         const std::vector<std::string>& columns, ps::Node& node,
                                         const std::vector<ps::Rank>& workers) {
  const std::size_t n = columns.size();
  std::vector<double> fill(n, 0.0);
  if (mode == ImputeMode::kZero) return fill;
  for (std::size_t j = 0; j < n; ++j) {
    if (count[j] > 0) continue;
    return DataError(fmt::format("--impute {}: numeric column \"{}\" has no value in the training data",
                                 ImputeModeName(mode), columns[j]));
  }
  if (mode == ImputeMode::kMean) {
    for (std::size_t j = 0; j < n; ++j) fill[j] = sum[j] / count[j];
    return fill;
  }
  // Lower median: the smallest v with at least ceil(count / 2) values <= v, a data value.
  std::vector<std::uint64_t> lo(n), hi(n, Ordered(std::numeric_limits<double>::max()));
  for (std::size_t j = 0; j < n; ++j) lo[j] = Ordered(min[j]);
  while (true) {
    MedianAsk ask;
    ask.done = true;
    for (std::size_t j = 0; j < n; ++j) {
      ask.done = ask.done && lo[j] == hi[j];
      ask.at.push_back(FromOrdered(lo[j] + (hi[j] - lo[j]) / 2));
    }
    ECPS_RETURN_IF_ERROR_CTX(ps::Broadcast(node, kMedianAskTopic, workers, &ask, node.DefaultDeadline()), "--impute median");
    if (ask.done) break;
    ECPS_ASSIGN_OR_RETURN(auto counts, ps::Gather(node, kMedianCountTopic, workers, std::vector<std::uint64_t>(),
                                                  node.DefaultDeadline()));
    for (std::size_t j = 0; j < n; ++j) {
      std::uint64_t below = 0;
      for (const auto& c : counts) below += c.at(j);
      const std::uint64_t mid = lo[j] + (hi[j] - lo[j]) / 2;
      if (static_cast<double>(below) >= std::ceil(count[j] / 2)) {
        hi[j] = mid;
      } else {
        lo[j] = mid + 1;
      }
    }
  }
  for (std::size_t j = 0; j < n; ++j) fill[j] = FromOrdered(lo[j]);
  return fill;
}

Result<Imputation> PlanImputation(ImputeMode mode, const std::vector<SetupReport>& reports,
                                  const std::vector<std::string>& columns, ps::Node& node,
                                  const std::vector<ps::Rank>& workers, SetupReport* all) {
  Imputation imp{mode, {}};
  if (mode == ImputeMode::kNone) return imp;
  all->missing.assign(columns.size(), 0);
  for (const auto& r : reports) {
    for (std::size_t j = 0; j < r.missing.size() && j < columns.size(); ++j) all->missing[j] += r.missing[j];
    all->rows_missing += r.rows_missing;
    all->test_rows_missing += r.test_rows_missing;
  }
  if (mode == ImputeMode::kDrop) {
    all->train_rows -= all->rows_missing;
    all->test_rows -= all->test_rows_missing;
    return imp;
  }
  const NumericStats& s = all->numeric;
  ECPS_ASSIGN_OR_RETURN(imp.fill, ComputeFills(mode, s.count, s.sum, s.min, columns, node, workers));
  return imp;
}

Status MedianCounts(ps::Node& node, const std::vector<ps::Rank>& workers,
                    const std::vector<std::vector<float>>& sorted) {
  while (true) {
    MedianAsk ask;
    ECPS_RETURN_IF_ERROR_CTX(ps::Broadcast(node, kMedianAskTopic, workers, &ask, node.DefaultDeadline()), "--impute median");
    if (ask.done) return Status::Ok();
    std::vector<std::uint64_t> counts;
    for (std::size_t j = 0; j < sorted.size() && j < ask.at.size(); ++j) {
      const double at = ask.at[j];
      counts.push_back(static_cast<std::uint64_t>(
          std::upper_bound(sorted[j].begin(), sorted[j].end(), at,
                           [](double a, float b) { return a < static_cast<double>(b); }) -
          sorted[j].begin()));
    }
    ECPS_RETURN_IF_ERROR(ps::Gather(node, kMedianCountTopic, workers, counts, node.DefaultDeadline()).status());
  }
}

nlohmann::json ImputeJson(const Imputation& imp, const std::vector<std::string>& columns,
                          const std::vector<std::uint64_t>& missing, std::uint64_t rows_dropped) {
  nlohmann::json cols = nlohmann::json::object();
  for (std::size_t j = 0; j < columns.size(); ++j) {
    cols[columns[j]] = {{"missing", j < missing.size() ? missing[j] : 0},
                        {"fill", imp.fills() ? nlohmann::json(imp.fill[j]) : nlohmann::json(nullptr)}};
  }
  return {{"mode", ImputeModeName(imp.mode)}, {"columns", cols}, {"rows_dropped", rows_dropped}};
}

}  // namespace ecps::models::lr
