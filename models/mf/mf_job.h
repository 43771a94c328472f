// Implicit-feedback matrix factorisation (weighted ALS, Hu, Koren & Volinsky 2008: the model
// of Spark's ALS(implicitPrefs = true) and of implicit's AlternatingLeastSquares) on the
// parameter server.
//
// Training runs item-CF's ingest job (models/cf/ingest_job.h: the same readers, ids, user
// sharding and split), then MfJob on the same ranks:
//
//  - tables: mf.matrix (the training interactions item-major, (user, value) per key, laid
//    out by the ingest job), mf.items (item factors Y, n_items x f), mf.users (user
//    factors X, n_users x f, written each iteration for the item half) and mf.gram (one
//    key per iteration: the upper triangle of X^T X, summed over the workers' pushes);
//  - user half: every worker pulls Y, forms Y^T Y itself (the same rows in the same order
//    on every worker) and solves each of its own users (als.h); X stays on the worker and is
//    pushed to mf.users with the worker's partial X^T X;
//  - item half: worker w owns the items [w n / W, (w + 1) n / W); it pulled its block's
//    interactions once, sorted by user, and now pulls X^T X and the factors of the users
//    its items have, solves each item and pushes its rows of Y.
// Each user's and item's solve therefore sums the same terms in the same order for any
// number of workers; only X^T X is added up in an order that depends on how users are
// shared among workers, so factors agree across worker counts up to float rounding (the
// tests bound the difference).
//
// With task kRating (--task rating) the factors fit explicit ratings instead: a rating is
// predicted as mu + b_u + b_i + x_u . y_i (clipped to the training ratings' range), mu the
// training mean (summed over the workers' partials), b_i and b_u the shrunken mean
// residuals of Koren's baseline (mf_state.h), computed once before the iterations by the
// item blocks' and the users' workers through mf.bias; each ALS half then solves every row
// from its observed ratings only, (lambda n I + sum y y^T) x = sum (r - baseline) y (als.h,
// Zhou et al. 2008's weighted-lambda regularisation, Spark's explicit ALS), so mf.gram is
// not used. The held-out ratings of the split are predicted beside two baselines (the
// global mean; mean + biases) for RMSE and MAE in metrics.json.
//
// Then every worker scores all items for its users (Y x_u), lists the top N without their
// training items, and evaluates like item-CF (models/cf/recommend.h, metrics.h); the
// scheduler writes recommendations.csv, metrics.json(l) and model.ecps (mf_model.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cf/cf_job.h"
#include "models/cf/train_state.h"
#include "models/mf/mf_model.h"
#include "scheduler/job.h"

namespace ecps::models::mf {

struct MfOptions {
  /// The interaction, split, evaluation and output options, as for train itemcf (the
  /// similarity options are unused); cf.seed also draws the initial item factors.
  cf::CfOptions cf;
  /// Latent factors per user and item.
  int factors = 32;
  /// ALS iterations (each a user half and an item half).
  int iterations = 15;
  /// lambda of the L2 penalty (implicit's default).
  double regularization = 0.01;
  /// Confidence c = 1 + alpha * r of an observed interaction of value r (implicit feedback:
  /// r = 1). 40 as in Hu, Koren & Volinsky 2008. Ranking task only.
  double alpha = 40.0;
  /// kRanking: weighted ALS on all pairs (above). kRating: explicit ALS on the observed
  /// ratings only (file comment); the file must have a rating column.
  MfTask task = MfTask::kRanking;

  /// cf.Validate() and the ranges of the MF options.
  Status Validate() const;
  /// metrics.json's "config".
  nlohmann::json ToJson() const;
};

/// Runs a job on the cluster (cf::ClusterRunner); called twice.
using ClusterRunner = cf::ClusterRunner;

/// Trains the factors and writes the outputs (on the scheduler's process). Every process of
/// an MPI job calls it with the same options.
Status TrainMf(const MfOptions& options, const ClusterRunner& run);

}  // namespace ecps::models::mf
