// Evaluation of a binary classifier in mergeable parts: each worker scores its shard and
// sends a BinaryEval; the scheduler merges them. Nothing gathers every prediction: the
// exact AUC comes from per-score label counts (models/common/binary_metrics.h).
#pragma once

#include <cstdint>
#include <span>

#include <cereal/types/vector.hpp>
#include <nlohmann/json.hpp>

#include "models/common/binary_metrics.h"

namespace ecps::models::lr {

struct BinaryEval {
  ScoreCounts counts;         ///< for the exact AUC
  std::uint64_t n = 0;
  double logloss_sum = 0;
  double prob_sum = 0;        ///< sum of predicted probabilities (calibration)
  std::uint64_t tp = 0, fp = 0, tn = 0, fn = 0;  ///< at the threshold

  /// Counts for probabilities `p` and 0/1 labels `y`; positive when p >= threshold.
  static BinaryEval From(std::span<const float> p, std::span<const float> y, double threshold);
  void Merge(const BinaryEval& other);

  /// auc, logloss, accuracy, precision, recall, f1, threshold, predicted_positive_rate
  /// (mean probability), observed_positive_rate, examples, and best_f1 (the threshold that
  /// maximises F1, with its precision, recall and F1). Undefined ratios are null.
  nlohmann::json ToJson(double threshold) const;
  /// curves.json (models/common/binary_curves.h: ROC, precision-recall, gain, calibration),
  /// with `threshold` and the F1-best threshold marked as "threshold" and "best_f1".
  nlohmann::json CurvesJson(double threshold) const;

  template <class A>
  void serialize(A& ar) { ar(counts, n, logloss_sum, prob_sum, tp, fp, tn, fn); }
};

}  // namespace ecps::models::lr
