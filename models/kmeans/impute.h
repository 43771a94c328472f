// --impute for a k-means worker (internal to models/kmeans): missing numeric values of the
// training data counted, dropped or filled from statistics over all workers.
#pragma once

#include <nlohmann/json.hpp>

#include "models/kmeans/messages.h"
#include "models/kmeans/worker_state.h"

namespace ecps::models::kmeans {

/// Most bisection passes for a median (each one clock); the lower median is exact once the
/// bracket shrinks to adjacent doubles, which takes about 50 passes for usual data.
inline constexpr int kMedianPasses = 200;

/// Applies options.impute to state.users right after loading; every worker calls it at the
/// same point (one clock; mean: one more; median: one per bisection pass). Drops the rows with
/// a NaN (kDrop) or fills them with 0, the mean (exact fixed-point sums) or the lower median
/// of the column's present values over all workers; sets state.n, x_data and summary.impute,
/// missing, rows_dropped. DataError (naming the column) when mean or median has no value.
Status ImputeMissing(WorkerState& state);

/// metrics.json's "impute": the mode, per feature the missing values counted in the training
/// data and the value that filled them, and the rows dropped.
nlohmann::json ImputeJson(const Summary& summary, const std::vector<std::string>& names);

}  // namespace ecps::models::kmeans
