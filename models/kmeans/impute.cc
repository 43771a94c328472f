#include "models/kmeans/impute.h"

#include <cmath>

#include <fmt/format.h>

namespace ecps::models::kmeans {
namespace {

// Keeps the rows of `users` without a NaN feature; returns how many were dropped.
std::uint64_t DropMissingRows(worker::UserTable* users) {
  const std::size_t d = users->dim;
  worker::UserTable kept;
  kept.dim = d;
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < users->size(); ++i) {
    const double* x = users->features.data() + i * d;
    bool missing = false;
    for (std::size_t f = 0; f < d; ++f) missing = missing || std::isnan(x[f]);
    if (missing) {
      ++dropped;
    } else {
      kept.AppendFrom(*users, i);
    }
  }
  *users = std::move(kept);
  return dropped;
}

// Exact mean of the present values of every column (fixed-point sums, one clock).
Result<std::vector<double>> Means(WorkerState& s, const ReduceRow& stats) {
  const std::size_t d = s.d;
  const auto total = static_cast<std::uint64_t>(stats.Sum(d));
  std::vector<double> sc(d);
  std::vector<std::int64_t> sums(d, 0);
  for (std::size_t f = 0; f < d; ++f) {
    sc[f] = std::ldexp(1.0, FixedExponent(std::max(stats.Max(f), stats.Max(d + f)), total));
  }
  for (std::size_t i = 0; i < s.n; ++i) {
    for (std::size_t f = 0; f < d; ++f) {
      if (!std::isnan(s.X(i)[f])) sums[f] += ToFixed(s.X(i)[f], sc[f]);
    }
  }
  ReduceRow row(s.layout);
  for (std::size_t f = 0; f < d; ++f) row.Sum(f) = static_cast<double>(sums[f]);
  ECPS_ASSIGN_OR_RETURN(const ReduceRow all, s.ReduceAcrossWorkers(row));
  std::vector<double> mean(d);
  for (std::size_t f = 0; f < d; ++f) mean[f] = all.Sum(f) / sc[f] / stats.Sum(f);
  return mean;
}

// Lower median of the present values of every column: the smallest value v with at least
// half of them <= v, by bisection between the extremes on counts over all workers.
Result<std::vector<double>> Medians(WorkerState& s, const ReduceRow& stats) {
  const std::size_t d = s.d;
  std::vector<double> lo(d), hi(d), need(d), mid(d);
  for (std::size_t f = 0; f < d; ++f) {
    lo[f] = std::nextafter(-stats.Max(d + f), -kInf);  // count(<= lo) = 0
    hi[f] = stats.Max(f);                              // count(<= hi) = all
    need[f] = std::ceil(stats.Sum(f) / 2);
  }
  for (int pass = 0; pass < kMedianPasses; ++pass) {
    bool open = false;
    for (std::size_t f = 0; f < d; ++f) {
      mid[f] = 0.5 * lo[f] + 0.5 * hi[f];
      if (!(mid[f] > lo[f] && mid[f] < hi[f])) mid[f] = kInf;  // converged
      open = open || mid[f] != kInf;
    }
    if (!open) break;  // the same decision on every worker: the totals are the same
    std::vector<std::uint64_t> below(d, 0);
    for (std::size_t i = 0; i < s.n; ++i) {
      for (std::size_t f = 0; f < d; ++f) below[f] += s.X(i)[f] <= mid[f] ? 1 : 0;
    }
    ReduceRow row(s.layout);
    for (std::size_t f = 0; f < d; ++f) row.Sum(f) = static_cast<double>(below[f]);
    ECPS_ASSIGN_OR_RETURN(const ReduceRow all, s.ReduceAcrossWorkers(row));
    for (std::size_t f = 0; f < d; ++f) {
      if (mid[f] == kInf) continue;
      (all.Sum(f) >= need[f] ? hi[f] : lo[f]) = mid[f];
    }
  }
  return hi;
}

}  // namespace

Status ImputeMissing(WorkerState& s) {
  const Impute kind = s.options.impute;
  s.summary.impute.kind = kind;
  s.n = s.users.size();
  s.x_data = s.users.features.data();
  if (kind == Impute::kNone) return Status::Ok();

  // One clock: per column the present values (sums 0..d-1), the users (d), the rows dropped
  // (d + 1), and the max and -min of the present values (maxima f and d + f); all counted
  // before any row is dropped.
  const std::size_t d = s.d;
  ReduceRow row(s.layout);
  for (std::size_t i = 0; i < s.n; ++i) {
    for (std::size_t f = 0; f < d; ++f) {
      const double v = s.X(i)[f];
      if (std::isnan(v)) continue;
      row.Sum(f) += 1;
      row.Max(f) = std::max(row.Max(f), v);
      row.Max(d + f) = std::max(row.Max(d + f), -v);
    }
  }
  row.Sum(d) = static_cast<double>(s.n);
  if (kind == Impute::kDrop) {
    row.Sum(d + 1) = static_cast<double>(DropMissingRows(&s.users));
    s.n = s.users.size();
    s.x_data = s.users.features.data();
  }
  ECPS_ASSIGN_OR_RETURN(const ReduceRow stats, s.ReduceAcrossWorkers(row));
  s.summary.rows_dropped = static_cast<std::uint64_t>(stats.Sum(d + 1));
  s.summary.missing.resize(d);
  for (std::size_t f = 0; f < d; ++f) {
    s.summary.missing[f] = static_cast<std::uint64_t>(stats.Sum(d) - stats.Sum(f));
    if ((kind == Impute::kMean || kind == Impute::kMedian) && stats.Sum(f) == 0) {
      return DataError(fmt::format("{}: column \"{}\": every value is missing (--impute {})",
                                   s.options.data, s.schema.output_names()[f], ImputeName(kind)));
    }
  }
  auto& values = s.summary.impute.values;
  if (kind == Impute::kDrop) return Status::Ok();
  if (kind == Impute::kZero) {
    values.assign(d, 0.0);
  } else {
    ECPS_ASSIGN_OR_RETURN(values, kind == Impute::kMean ? Means(s, stats) : Medians(s, stats));
  }
  double* x = s.users.features.data();
  for (std::size_t i = 0; i < s.n * d; ++i) {
    if (std::isnan(x[i])) x[i] = values[i % d];
  }
  return Status::Ok();
}

nlohmann::json ImputeJson(const Summary& summary, const std::vector<std::string>& names) {
  nlohmann::json missing = nlohmann::json::object(), values = nlohmann::json::object();
  for (std::size_t f = 0; f < summary.missing.size() && f < names.size(); ++f) {
    missing[names[f]] = summary.missing[f];
    if (f < summary.impute.values.size()) values[names[f]] = summary.impute.values[f];
  }
  return {{"mode", ImputeName(summary.impute.kind)},
          {"missing", missing},
          {"values", values},
          {"rows_dropped", summary.rows_dropped}};
}

}  // namespace ecps::models::kmeans
