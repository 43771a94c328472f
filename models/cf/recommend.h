// A worker's last step of CF training (model_job.h): after the similarity phase, pull the
// neighbour lists its own users need, score and list their top N, and evaluate the lists
// against their held-out items (the model and the popularity baseline, full ranking and
// the sampled protocol, metrics.h).
#pragma once

#include <cstdint>
#include <functional>

#include "models/cf/messages.h"
#include "models/cf/train_state.h"
#include "ps/kv_client.h"

namespace ecps::models::cf {

/// What the recommendation step reads: the options and this worker's state.
struct RecommendInputs {
  const CfOptions& options;
  const Settings& settings;
  const RankState& state;
};

/// Users done so far, reported every few thousand users (from the calling thread).
using UsersDone = std::function<Status(std::uint64_t)>;

/// Scores every item for own user `p` into `scores` (clearing it first and finishing it),
/// in place of the neighbour lists (matrix factorisation); called from several threads.
using UserScorer = std::function<void(std::size_t p, ItemScores* scores)>;

/// Recommends for and evaluates this worker's own users; `progress` may be empty; with
/// `scorer`, items are scored by it and no neighbour list is pulled.
Result<UserResults> RecommendAndEvaluate(ps::KVClient& kv, const RecommendInputs& in,
                                         ps::Deadline deadline, const UsersDone& progress = {},
                                         const UserScorer& scorer = {});

}  // namespace ecps::models::cf
