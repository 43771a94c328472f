// What MfJob's ranks share inside models/mf: topics, tables, the factors message and the
// scheduler's outputs (mf_outputs.cc).
#pragma once

#include <cstdint>
#include <vector>

#include <cereal/types/vector.hpp>

#include "models/cf/messages.h"
#include "models/mf/mf_job.h"
#include "scheduler/job.h"

namespace ecps::models::mf {

// Control topics of this model: 1700-1799.
constexpr std::uint32_t kTopicIteration = 1700;          // worker 0 -> scheduler: seconds
constexpr std::uint32_t kTopicFactors = 1701;            // Factors, worker -> scheduler
constexpr std::uint32_t kTopicRecommendProgress = 1702;  // users recommended for

constexpr ps::TableId kMatrix = 1;  // nnz x (user, value), item-major (RankState::ptr)
constexpr ps::TableId kItems = 2;   // n_items x f
constexpr ps::TableId kUsers = 3;   // n_users x f
constexpr ps::TableId kGram = 4;    // iterations x f (f + 1) / 2

/// Values of an upper triangle of f x f.
inline std::size_t GramSize(std::size_t f) { return f * (f + 1) / 2; }

/// A worker's users' factors (its own users, ascending) and, from worker 0, all of Y.
struct Factors {
  std::vector<std::uint32_t> users;
  std::vector<double> x, y;
  template <class A>
  void serialize(A& ar) {
    ar(users, x, y);
  }
};

/// The scheduler's view of a finished training.
struct MfResults {
  const MfOptions& options;
  const cf::Settings& settings;
  const cf::RankState& state;
  const std::vector<cf::WorkerReport>& reports;  // one per worker
  const std::vector<Factors>& factors;           // one per worker (empty without the model)
  const std::vector<double>& iteration_s;
};

/// Writes recommendations.csv, model.ecps, metrics.json and metrics.jsonl into
/// options.cf.out and logs a summary.
Status WriteMfOutputs(sched::JobContext& ctx, const MfResults& in);

}  // namespace ecps::models::mf
