// What the scheduler writes at the end of CF training (model_job.h): DIR/recommendations.csv,
// neighbors.csv (and content_neighbors.csv), model.ecps, metrics.json and metrics.jsonl.
#pragma once

#include <cstdint>
#include <vector>

#include "models/cf/messages.h"
#include "models/cf/model.h"
#include "models/cf/train_state.h"
#include "scheduler/job.h"

namespace ecps::models::cf {

/// The scheduler's view of a finished training.
struct TrainedResults {
  const CfOptions& options;
  const Settings& settings;
  const RankState& state;
  const std::vector<WorkerReport>& reports;  // one per worker
  const NeighborLists& neighbors;
  const NeighborLists& content;  // empty without item attributes
};

/// Scheduler: the `n` rows of a neighbour table of `k` slots, as each server sent them on
/// `topic` (in any order).
Result<NeighborLists> ReceiveLists(ps::Node& node, std::uint32_t topic, std::size_t n,
                                   std::size_t k);

/// Writes the outputs into options.out and logs a summary.
Status WriteOutputs(sched::JobContext& ctx, const TrainedResults& results);

}  // namespace ecps::models::cf
