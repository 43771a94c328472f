// Curves of a binary scorer from its merged per-score label counts (binary_metrics.h):
// operating points (threshold, true and false positives) from which ROC, precision-recall
// and gain/lift curves follow, and equal-count bins of mean score against observed positive
// rate (calibration). Exact at every point they give; nothing needs the single predictions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "models/common/binary_metrics.h"

namespace ecps::models {

/// Examples called positive when their score is >= `threshold`.
struct OperatingPoint {
  double threshold = 0;
  std::uint64_t tp = 0, fp = 0;  ///< positives and negatives with score >= threshold
};

/// One point per distinct score, highest threshold first, thinned to about `max_points`
/// (>= 2): a point is kept when it adds at least (examples / max_points) called examples
/// since the last kept one; the last point (every example called positive) is always kept.
std::vector<OperatingPoint> OperatingPoints(const ScoreCounts& counts, std::size_t max_points);

/// The counts at any threshold (not only a distinct score).
OperatingPoint AtThreshold(const ScoreCounts& counts, double threshold);

struct CalibrationBin {
  double mean_score = 0;     ///< mean score of the bin's examples
  double positive_rate = 0;  ///< share of positives among them
  std::uint64_t count = 0;
};

/// About `bins` bins of equal example count in ascending score order; the examples of one
/// score stay in one bin, so ties make bins larger and fewer. Empty without examples.
std::vector<CalibrationBin> Calibration(const ScoreCounts& counts, std::size_t bins);

/// What a stage writes as curves.json: {"positives", "negatives", "points": {"threshold",
/// "tp", "fp"} (columns, from OperatingPoints with 200 points), "calibration": {"mean_score",
/// "positive_rate", "count"} (10 bins), "marked": [{"name", "threshold", "tp", "fp"}] (the
/// thresholds in `marked`, e.g. the configured one and the F1-best one)}.
nlohmann::json CurvesJson(const ScoreCounts& counts,
                          std::span<const std::pair<std::string, double>> marked);

}  // namespace ecps::models
