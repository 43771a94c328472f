// Metrics of a binary scorer that can be computed in parts and combined: each worker counts
// positives and negatives per distinct score on its shard; the merged counts give the exact
// ROC AUC (ties count one half) without any process holding every prediction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <cereal/types/vector.hpp>

namespace ecps::models {

struct ScoreCounts {
  std::vector<double> scores;          ///< distinct scores, ascending
  std::vector<std::uint64_t> pos, neg; ///< examples with that score, by label

  /// Builds counts from scores and 0/1 labels (same length).
  static ScoreCounts From(std::span<const double> scores, std::span<const int> labels);
  /// Adds another part's counts (a sorted merge).
  void Merge(const ScoreCounts& other);
  std::uint64_t positives() const;
  std::uint64_t negatives() const;

  template <class A>
  void serialize(A& ar) { ar(scores, pos, neg); }
};

/// Probability that a random positive scores above a random negative, ties counting one half.
/// NaN when there are no positives or no negatives.
double ExactAuc(const ScoreCounts& counts);

/// The threshold t that maximises F1 when a score >= t counts as positive (t is one of the
/// distinct scores; the highest such t on a tie), with its precision and recall. None
/// without positives.
struct F1Point {
  double threshold = 0, precision = 0, recall = 0, f1 = 0;
};
std::optional<F1Point> BestF1(const ScoreCounts& counts);

}  // namespace ecps::models
