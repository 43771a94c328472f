// What every `ecps train <model>` prints at its end: a few key figures of its metrics.json
// (the same layout for every model) and where the whole file is. Nothing under --quiet.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ps/status.h"

namespace ecps::launch {

/// The summary lines of `metrics` (the metrics.json of `ecps train <model>` written to the
/// folder `out`): a title line, then one "  name  value" line per figure the file holds
/// (lr: AUC, log-loss, F1-best threshold...; linreg: RMSE, MAE, R²; kmeans: users, iterations,
/// inertia, silhouette, sizes...; itemcf/usercf: users, items, each ranking metric beside
/// popularity's, coverage), figures absent from the file left out.
std::string TrainingSummary(std::string_view model, const nlohmann::json& metrics,
                            const std::string& out);

/// Prints TrainingSummary of OUT/metrics.json on standard output in the printing process
/// (single-node, or MPI rank 0) unless `quiet`. An unreadable file is an I/O error.
Status PrintTrainingSummary(bool quiet, std::string_view model, const std::string& out);

}  // namespace ecps::launch
