// Differentially private k-means (`train kmeans --dp-epsilon`): the options, the noise plan,
// and the servers' noisy finalizer of kmeans.stats.
//
// Neighbouring data sets differ by one user (add/remove). Every feature is clipped into its
// given bounds [lo, hi] and mapped to [0, 1], so one user changes a Lloyd iteration's count
// vector by 1 (L2) and its per-feature sums by at most sqrt(d) (L2). Each iteration the servers
// add N(0, σ_c²) to every cluster's count and N(0, (σ_s·sqrt(d))²) to every per-feature sum.
// The RDP of the pair at order α is α/(2σ_c²) + α/(2σ_s²) = α/(2σ²) with
// 1/σ² = 1/σ_c² + 1/σ_s²: one Gaussian mechanism of unit sensitivity and noise multiplier σ.
// T iterations compose to T·α/(2σ²); privacy::FindNoiseMultiplier(q = 1, steps = T) finds σ
// for (ε, δ), and the count share F splits it: 1/σ_c² = F/σ², 1/σ_s² = (1 − F)/σ².
//
// The initial centroids come from a noisy histogram: the box [0, 1]^d cut into g^d cells, one
// count per cell with N(0, σ²) noise (one user is in one cell: sensitivity 1, so the same RDP
// as one iteration; then T + 1 steps), and weighted k-means on the centres of the cells whose
// noisy count exceeds 3σ (post-processing). Without a histogram (--init FILE, or d too large
// for a grid) the centroids are the file's or uniform in the box, and the steps are T.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "privacy/noise.h"
#include "ps/rules.h"
#include "ps/status.h"

namespace ecps::models::kmeans {

/// The noise of a private run.
struct DpNoisePlan {
  int iterations = 0;
  int init_steps = 0;  ///< 1 with the histogram initialisation, else 0
  std::size_t d = 0;
  double delta = 0, count_share = 0;
  double sigma = 0;        ///< σ: the combined noise multiplier of one iteration
  double sigma_count = 0;  ///< σ_c = σ / sqrt(F): the counts' noise standard deviation
  double sigma_sum = 0;    ///< σ_s = σ / sqrt(1 − F): noise multiplier of the sums
  /// The standard deviation of the noise on one per-feature sum: σ_s·sqrt(d).
  double sum_stddev() const;
  int steps() const { return iterations + init_steps; }
  /// ε spent after the initialisation and `t` iterations (balle conversion).
  Result<double> EpsilonAfter(int t) const;
};

/// The --dp-* options of `train kmeans`. DP is on when `epsilon` > 0.
struct DpKMeansOptions {
  double epsilon = 0;        ///< total over all iterations; 0 = no DP
  double delta = 1e-6;       ///< in (0, 1)
  double count_share = 0.2;  ///< F in (0, 1): the share of 1/σ² that goes to the counts
  /// "name=lo:hi", one per feature (in any order).
  std::vector<std::string> bounds;
  /// Replayable noise for tests (the run is then not private).
  std::optional<std::uint64_t> test_seed;
  /// Filled by PrepareDp: the bounds in the order of the features, and the noise.
  std::vector<double> lo, hi;
  DpNoisePlan plan;

  bool enabled() const { return epsilon > 0; }
};

/// The bounds of every feature, in the order of `names`, from "name=lo:hi" specs. Refuses
/// (naming --dp-bounds and the feature) a missing or unknown or repeated feature, a spec
/// without '=' or ':', non-finite values and lo >= hi.
Status ParseDpBounds(const std::vector<std::string>& specs, const std::vector<std::string>& names,
                     std::vector<double>* lo, std::vector<double>* hi);

/// The plan that meets (options.epsilon, options.delta) over `iterations` iterations of `d`
/// features, after `init_steps` (0 or 1) histogram steps; refuses a budget that cannot be
/// met, with the accountant's message.
Result<DpNoisePlan> PlanDpNoise(const DpKMeansOptions& options, int iterations, std::size_t d,
                                int init_steps = 0);

/// kmeans.dp_init: the initialisation's noisy histogram (one key per cell, width 1).
inline constexpr ps::TableId kDpHistogramTable = 4;

/// The histogram's grid over [0, 1]^d: `per_dim` cells per feature, at most kMaxCells in all;
/// cells = 0 when even 2 per feature would exceed it (no histogram).
struct DpGrid {
  static constexpr std::size_t kMaxCells = 4096;
  std::size_t d = 0, per_dim = 0, cells = 0;
  static DpGrid For(std::size_t d);
  /// The cell of a point of [0, 1]^d.
  std::size_t Cell(const double* x) const;
  /// The centre of a cell, d values.
  std::vector<double> Centre(std::size_t cell) const;
};

/// k initial centroids from noisy cell counts: weighted k-means (seeded) on the centres of
/// the cells whose count exceeds `threshold`; uniform centroids fill up when fewer than k.
std::vector<double> CentroidsFromHistogram(const DpGrid& grid, const std::vector<double>& noisy,
                                           double threshold, std::size_t k, std::uint64_t seed);

/// kmeans.dp_init under DP: N(0, stddev²) on every cell's count, once.
class DpCountFinalizer final : public ps::Finalizer<double> {
 public:
  DpCountFinalizer(double stddev, std::optional<privacy::GaussianNoise> noise,
                   std::optional<std::uint64_t> test_seed);
  void Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                std::span<double> values) override;

 private:
  double stddev_;
  std::optional<privacy::GaussianNoise> noise_;
  std::optional<std::uint64_t> test_seed_;
};

/// kmeans.stats under DP: every row (d sums, then the count) gets the plan's noise once per
/// clock; the row becomes the centroid noisy sums / noisy count, clipped into [0, 1]^d, and
/// the noisy count. A cluster whose noisy count is below the sums' noise stddev (its mean
/// would be noise wider than the box) gets a centroid uniform in [0, 1]^d from the noise
/// stream instead (the private run's re-seeding of empty clusters).
class DpStatsFinalizer final : public ps::Finalizer<double> {
 public:
  /// With `test_seed`, the noise replays from it (mixed with the server's index); else
  /// `noise` (from entropy) is used.
  DpStatsFinalizer(const DpNoisePlan& plan, std::optional<privacy::GaussianNoise> noise,
                   std::optional<std::uint64_t> test_seed);
  void Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                std::span<double> values) override;

 private:
  std::size_t d_;
  double count_stddev_, sum_stddev_;
  std::optional<privacy::GaussianNoise> noise_;
  std::optional<std::uint64_t> test_seed_;
  std::vector<double> counts_;
};

/// k x d centroids uniform in [0, 1]^d (the bounds' box in the fitted space), a function of
/// the seed only: the initialisation of a private run (no data involved).
std::vector<double> UniformCentroids(std::size_t k, std::size_t d, std::uint64_t seed);

/// metrics.json's "privacy" object.
nlohmann::json DpPrivacyJson(const DpNoisePlan& plan, double epsilon_spent,
                             const std::vector<std::string>& names, const std::vector<double>& lo,
                             const std::vector<double>& hi, bool test_seed);

}  // namespace ecps::models::kmeans
