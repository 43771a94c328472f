// What MfJob's ranks share inside models/mf: topics, tables, the factors message and the
// scheduler's outputs (mf_outputs.cc).
#pragma once

#include <cstdint>
#include <span>
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
constexpr std::uint32_t kTopicRatingStats = 1703;        // RatingStats, among the workers
constexpr std::uint32_t kTopicRatingEval = 1704;         // RatingEval, worker -> scheduler

constexpr ps::TableId kMatrix = 1;  // nnz x (user, value), item-major (RankState::ptr)
constexpr ps::TableId kItems = 2;   // n_items x f
constexpr ps::TableId kUsers = 3;   // n_users x f
constexpr ps::TableId kGram = 4;    // iterations x f (f + 1) / 2 (ranking task)
constexpr ps::TableId kBias = 5;    // rating task: n_items item biases, then n_users user biases

/// The baseline biases' shrinkage (Koren 2010, section 2.1): an item's bias is the mean of
/// its residuals r - mu over (kItemBiasShrink + its ratings), a user's of r - mu - b_i over
/// (kUserBiasShrink + its ratings).
constexpr double kItemBiasShrink = 25.0;
constexpr double kUserBiasShrink = 10.0;

/// Values of an upper triangle of f x f.
inline std::size_t GramSize(std::size_t f) { return f * (f + 1) / 2; }

/// A worker's users' factors (its own users, ascending) and, from worker 0, all of Y; for
/// the rating task also the users' biases and (worker 0) the items'.
struct Factors {
  std::vector<std::uint32_t> users;
  std::vector<double> x, y;
  std::vector<double> user_bias, item_bias;
  template <class A>
  void serialize(A& ar) {
    ar(users, x, y, user_bias, item_bias);
  }
};

/// The interactions of a worker's item block, item-major, users ascending within an item;
/// `col` indexes `users` (the distinct users of the block, ascending).
struct ItemBlockRows {
  std::uint32_t begin = 0, end = 0;
  std::vector<std::uint64_t> ptr{0};
  std::vector<std::uint32_t> col;
  std::vector<float> val;
  std::vector<ps::Key> users;
};

/// One worker's training ratings: sum, count and range (rating task).
struct RatingStats {
  double sum = 0, count = 0, min = 0, max = 0;
  template <class A>
  void serialize(A& ar) {
    ar(sum, count, min, max);
  }
};

/// What the rating task's solves and evaluation share on one worker: the baseline
/// (mu + b_u + b_i) and the residuals the factors fit.
struct RatingBaseline {
  double mu = 0, min = 0, max = 0;
  std::vector<double> item_bias;     ///< every item
  std::vector<double> own_bias;      ///< the worker's own users (OwnUsers order)
  std::vector<double> own_residual;  ///< per training pair of own (train_item order)
  std::vector<double> blk_residual;  ///< per pair of the item block (ItemBlockRows order)
};

/// Held-out rating partials of one worker: counts, squared and absolute errors of the model
/// and the two baselines (global mean; mean + biases), and the model's training error.
struct RatingEval {
  double mu = 0, min = 0, max = 0;  ///< the training ratings' mean and range
  double n = 0, train_n = 0, train_sse = 0;
  double sse[3] = {0, 0, 0}, sae[3] = {0, 0, 0};  ///< mf, global mean, biases
  template <class A>
  void serialize(A& ar) {
    ar(mu, min, max, n, train_n, train_sse, sse, sae);
  }
};

/// The worker's training ratings' sum, count and range.
RatingStats LocalRatingStats(const cf::OwnUsers& own);
/// mu and the range over every worker's stats (summed in worker order).
void CombineRatingStats(const std::vector<RatingStats>& all, RatingBaseline* base);
/// The biases of the block's items (blk order) from the block's ratings and base.mu.
std::vector<double> BlockItemBiases(const ItemBlockRows& blk, const RatingBaseline& base);
/// base->own_bias from the worker's training ratings and base->item_bias.
void OwnUserBiases(const cf::OwnUsers& own, RatingBaseline* base);
/// base->own_residual and base->blk_residual; `blk_user_bias` one per blk.users.
void Residuals(const cf::OwnUsers& own, const ItemBlockRows& blk,
               std::span<const double> blk_user_bias, RatingBaseline* base);
/// The held-out and training errors of the worker's users (factors x in own order, y all).
RatingEval EvaluateRatings(const cf::OwnUsers& own, const RatingBaseline& base,
                           std::span<const double> x, std::span<const double> y, std::size_t f);

/// The scheduler's view of a finished training.
struct MfResults {
  const MfOptions& options;
  const cf::Settings& settings;
  const cf::RankState& state;
  const std::vector<cf::WorkerReport>& reports;  // one per worker
  const std::vector<Factors>& factors;           // one per worker (empty without the model)
  const std::vector<double>& iteration_s;
  const std::vector<RatingEval>& rating;  // one per worker (rating task), else empty
};

/// Writes recommendations.csv, model.ecps, metrics.json and metrics.jsonl into
/// options.cf.out and logs a summary.
Status WriteMfOutputs(sched::JobContext& ctx, const MfResults& in);

}  // namespace ecps::models::mf
