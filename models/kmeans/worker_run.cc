#include "models/kmeans/worker_run.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <tbb/enumerable_thread_specific.h>

#include "models/common/csv_field.h"
#include "models/kmeans/checkpoint.h"
#include "models/kmeans/impute.h"
#include "models/kmeans/lloyd.h"
#include "models/kmeans/random.h"
#include "models/kmeans/seeding.h"
#include "models/kmeans/worker_state.h"
#include "ps/collective.h"
#include "ps/stopwatch.h"
#include "util/hash.h"

namespace ecps::models::kmeans {
namespace {

constexpr std::uint64_t kSampleRound = 1ull << 40;  // the silhouette sample
constexpr std::size_t kAssignChunkRows = 1 << 16;

// Load, normalise, initialise, iterate, then the final assignment and the results.
class WorkerRun {
 public:
  WorkerRun(const KMeansOptions& options, const worker::FeatureSchema& schema,
            const TableLayout& layout, sched::JobContext& ctx)
      : state_(options, schema, layout, ctx) {}

  Status Run() {
    ps::Stopwatch phase;
    ECPS_RETURN_IF_ERROR(Load());
    state_.summary.load_seconds = phase.Seconds();
    phase.Restart();
    ECPS_RETURN_IF_ERROR(NormalizeUsers());
    state_.summary.normalize_seconds = phase.Seconds();
    ECPS_RETURN_IF_ERROR(state_.Report(PhaseReport::Normalized(state_.summary.normalize_seconds)));
    phase.Restart();
    if (state_.options.checkpoint.resume) {
      ECPS_RETURN_IF_ERROR(Resume());
    } else if (state_.options.dp.enabled() && state_.options.dp.plan.init_steps > 0) {
      ECPS_ASSIGN_OR_RETURN(state_.centroids, PrivateHistogramCentroids());
    } else if (state_.options.dp.enabled() && state_.options.init != InitMethod::kFile) {
      state_.centroids = UniformCentroids(state_.k, state_.d, state_.options.seed);  // no data
    } else {
      ECPS_RETURN_IF_ERROR(InitializeCentroids(state_));
    }
    state_.summary.init_seconds = phase.Seconds();
    if (!state_.options.checkpoint.resume) state_.summary.initial_centroids = state_.centroids;
    ECPS_RETURN_IF_ERROR(state_.Report(PhaseReport::Initialized(state_.summary.init_seconds)));
    phase.Restart();
    ECPS_RETURN_IF_ERROR(RunLloyd(state_));
    state_.summary.train_seconds = phase.Seconds();
    phase.Restart();
    ECPS_RETURN_IF_ERROR(Finish(phase));
    return SendResults();
  }

 private:
  // Resumed: the position of the scheduler's checkpoint instead of an initialisation.
  Status Resume() {
    WorkerCheckpoint saved;
    auto& node = state_.ctx.node;
    ECPS_RETURN_IF_ERROR(ps::Broadcast(node, kResumeTopic, ps::WorkerRanks(node.roles()), &saved,
                                       state_.Deadline()));
    ECPS_RETURN_IF_ERROR(CheckResumedData(saved, state_.total, state_.normalizer));
    state_.centroids = saved.centroids;
    state_.resume_label_centroids = saved.label_centroids;
    state_.start_iteration = saved.iteration;
    state_.summary.initial_centroids = saved.initial_centroids;
    state_.summary.init_candidates = saved.init_candidates;
    state_.summary.iteration_seconds = saved.iteration_seconds;
    return Status::Ok();
  }

  Status Load() {
    worker::ShardLoadOptions lo;
    lo.skip_bad_rows = state_.options.skip_bad_rows;
    lo.missing_as_nan = state_.options.impute != Impute::kNone;
    lo.topic = kRowsTopic;
    lo.ids = state_.options.ids.get();
    worker::LoadReport report;
    auto loaded = worker::LoadUserShard(state_.ctx.node, state_.ctx.plan, state_.worker,
                                        state_.schema, lo, &report);
    if (!loaded.ok()) return loaded.status();
    state_.users = std::move(loaded).value();
    ECPS_RETURN_IF_ERROR(ImputeMissing(state_));  // sets n and x_data
    state_.hashes.resize(state_.n);
    state_.ForChunks([&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        state_.hashes[i] = util::HashFeature(state_.users.id(i), state_.options.seed);
      }
    });
    return state_.ToScheduler(kLoadTopic, report);
  }

  Status NormalizeUsers() {
    const std::size_t d = state_.d;
    ECPS_ASSIGN_OR_RETURN(const ReduceRow extremes, CountAndExtremes());
    state_.total = static_cast<std::uint64_t>(extremes.Sum(0));
    if (state_.total == 0) {
      return DataError(
          fmt::format("{}: no users to cluster (no valid data rows)", state_.options.data));
    }
    if (state_.total < state_.k) {
      return InvalidArgument(
          fmt::format("--k {} exceeds the number of users ({})", state_.k, state_.total));
    }
    std::vector<double> mn(d), mx(d), mean(d), var(d);
    const auto& dp = state_.options.dp;
    const bool zscore = state_.options.normalize == Normalize::kZScore;
    const bool fused_variance = !dp.enabled() && !zscore;
    if (dp.enabled()) {
      // Private: the given bounds, never the data's extremes or moments; rows clipped into
      // them (the mean, the Lloyd origin, is the box's centre; the variance is unused).
      mn = dp.lo;
      mx = dp.hi;
      for (std::size_t f = 0; f < d; ++f) mean[f] = 0.5 * (mn[f] + mx[f]);
      state_.ForChunks([&](std::size_t b, std::size_t e) {
        double* x = state_.users.features.data();
        for (std::size_t i = b * d; i < e * d; ++i) {
          x[i] = std::clamp(x[i], mn[i % d], mx[i % d]);
        }
      });
    } else {
      for (std::size_t f = 0; f < d; ++f) {
        mx[f] = extremes.Max(f);
        mn[f] = -extremes.Max(d + f);
      }
      ECPS_RETURN_IF_ERROR(ColumnMeans(mn, mx, &mean));
      // Only zscore needs the variance before normalising; otherwise the pass below sums it.
      if (zscore) ECPS_RETURN_IF_ERROR(ColumnVariances(mn, mx, mean, &var));
    }

    state_.normalizer = Normalizer::Fit(state_.options.normalize, mn, mx, mean, var);
    state_.summary.min = mn;
    state_.summary.max = mx;
    state_.summary.mean = mean;
    state_.summary.users = state_.total;

    // Bounds of the fitted space fix the fixed-point exponents of every later sum.
    std::vector<double> lo = mn, hi = mx;
    state_.normalizer.Apply(lo.data(), 1);
    state_.normalizer.Apply(hi.data(), 1);
    std::vector<double> grid(d);
    double diameter2 = 0;
    for (std::size_t f = 0; f < d; ++f) {
      grid[f] = std::ldexp(
          1.0, FixedExponent(std::max(std::fabs(lo[f]), std::fabs(hi[f])), state_.total));
      diameter2 += (hi[f] - lo[f]) * (hi[f] - lo[f]);
    }
    state_.d2_scale = std::ldexp(1.0, FixedExponent(diameter2, state_.total));
    state_.dist_scale = std::ldexp(1.0, FixedExponent(std::sqrt(diameter2), state_.total));
    // The Lloyd loop's origin (the mean) and the grid of its sums of ||x - o||^2.
    state_.origin = mean;
    state_.normalizer.Apply(state_.origin.data(), 1);
    double r2 = 0;
    for (std::size_t f = 0; f < d; ++f) {
      r2 += std::max((lo[f] - state_.origin[f]) * (lo[f] - state_.origin[f]),
                     (hi[f] - state_.origin[f]) * (hi[f] - state_.origin[f]));
    }
    state_.q_scale = std::ldexp(1.0, FixedExponent(r2 * 1.01, state_.total));

    // One pass: the variance's sums (unless zscore needed them first), normalise (nothing
    // under `none`), then snap every coordinate to its grid (a change of at most 2^-50 of the
    // column's range), so that cluster sums are exact whatever the order of addition
    // (kernel.h); then each user's squared norm, ||x - o||^2 and the screen's copy. Rows are
    // rewritten in place: a second copy of the features in fresh memory cost more in the
    // kernel's zeroing of its pages than the whole Lloyd loop (1M x 8 users), and an aligned
    // copy in 2 MiB pages did not make the iterations measurably faster.
    state_.norms.resize(state_.n);
    state_.q.resize(state_.n);
    const std::vector<double> var_scale = VarianceScales(mn, mx);
    tbb::enumerable_thread_specific<std::vector<std::int64_t>> squares(
        [&] { return std::vector<std::int64_t>(d, 0); });
    const auto pass = [&](std::size_t b, std::size_t e) {
      double* raw = state_.users.features.data();
      if (fused_variance) AddSquares(raw, b, e, mean, var_scale, &squares.local());
      state_.normalizer.Apply(raw + b * d, e - b);
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t f = 0; f < d; ++f) raw[i * d + f] = SnapToGrid(raw[i * d + f], grid[f]);
      }
      const double* x = raw;
      SquaredNorms(x + b * d, e - b, d, state_.norms.data() + b);
      for (std::size_t i = b; i < e; ++i) {
        state_.q[i] = ToFixed(SquaredDistance(x + i * d, state_.origin.data(), d), state_.q_scale);
      }
    };
    if (ScreenAvailable(state_.options.kernel)) {
      // The screen's points, scaled by a power of two to |y| <= 1, filled in the same pass
      // while the block's snapped rows are in cache.
      int e = 0;
      (void)std::frexp(std::sqrt(r2), &e);  // sqrt(r2) < 2^e
      state_.screen.Reset(state_.n, d, state_.origin, r2 > 0 ? std::ldexp(1.0, -e) : 1.0);
      state_.ForBlocks([&](std::size_t b0, std::size_t b1) {
        pass(b0 * kScreenBlock, std::min(state_.n, b1 * kScreenBlock));
        state_.screen.Fill(state_.users.features.data(), b0, b1);
      });
    } else {
      state_.ForChunks(pass);
    }
    state_.x_data = state_.users.features.data();
    if (fused_variance) {
      ECPS_ASSIGN_OR_RETURN(const ReduceRow sums, SumAcrossWorkers(squares));
      var = Variances(sums, var_scale);
    }
    state_.summary.variance = var;
    double mean_var = 0;
    for (std::size_t f = 0; f < d; ++f) {
      mean_var += var[f] / (state_.normalizer.scale[f] * state_.normalizer.scale[f]);
    }
    state_.tol = state_.options.tol * mean_var / static_cast<double>(d);
    state_.labels.assign(state_.n, -1);
    d2_.assign(state_.n, 0.0);
    return Status::Ok();
  }

  // Pass 2 of the column statistics: the mean of every column, from exact fixed-point sums.
  Status ColumnMeans(const std::vector<double>& mn, const std::vector<double>& mx,
                     std::vector<double>* mean) {
    const std::size_t d = state_.d;
    std::vector<double> sc(d);
    for (std::size_t f = 0; f < d; ++f) {
      sc[f] = std::ldexp(1.0,
                         FixedExponent(std::max(std::fabs(mn[f]), std::fabs(mx[f])), state_.total));
    }
    ECPS_ASSIGN_OR_RETURN(
        const ReduceRow sums,
        FixedColumnSums([](std::size_t, std::size_t, double v) { return v; }, sc));
    for (std::size_t f = 0; f < d; ++f) {
      (*mean)[f] = sums.Sum(f) / sc[f] / static_cast<double>(state_.total);
    }
    return Status::Ok();
  }

  // The variance of every column as the mean squared deviation from its mean, from exact
  // fixed-point sums: a pass of its own (zscore) or AddSquares inside the normalising pass.
  Status ColumnVariances(const std::vector<double>& mn, const std::vector<double>& mx,
                         const std::vector<double>& mu, std::vector<double>* var) {
    const std::vector<double> sc = VarianceScales(mn, mx);
    ECPS_ASSIGN_OR_RETURN(
        const ReduceRow squares,
        FixedColumnSums(
            [&mu](std::size_t, std::size_t f, double v) { return (v - mu[f]) * (v - mu[f]); }, sc));
    *var = Variances(squares, sc);
    return Status::Ok();
  }
  std::vector<double> VarianceScales(const std::vector<double>& mn,
                                     const std::vector<double>& mx) const {
    std::vector<double> sc(state_.d);
    for (std::size_t f = 0; f < state_.d; ++f) {
      const double r = mx[f] - mn[f];
      sc[f] = std::ldexp(1.0, FixedExponent(r * r, state_.total));
    }
    return sc;
  }
  std::vector<double> Variances(const ReduceRow& squares, const std::vector<double>& sc) const {
    std::vector<double> var(state_.d);
    for (std::size_t f = 0; f < state_.d; ++f) {
      var[f] = squares.Sum(f) / sc[f] / static_cast<double>(state_.total);
    }
    return var;
  }
  // Adds ToFixed((x_if - mu_f)^2, sc_f) of rows [b, e) of `raw` (row-major, d) to acc[f].
  void AddSquares(const double* raw, std::size_t b, std::size_t e, const std::vector<double>& mu,
                  const std::vector<double>& sc, std::vector<std::int64_t>* acc) const {
    const std::size_t d = state_.d;
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t f = 0; f < d; ++f) {
        const double t = raw[i * d + f] - mu[f];
        (*acc)[f] += ToFixed(t * t, sc[f]);
      }
    }
  }

  // DP initialisation: this worker's users counted per cell of the grid; the servers add the
  // noise (kmeans.dp_init); weighted k-means on the cells above 3σ (dp.h).
  Result<std::vector<double>> PrivateHistogramCentroids() {
    const DpGrid grid = DpGrid::For(state_.d);
    std::vector<double> counts(grid.cells, 0.0);
    for (std::size_t i = 0; i < state_.n; ++i) counts[grid.Cell(state_.X(i))] += 1;
    ECPS_ASSIGN_OR_RETURN(const auto noisy, state_.ColumnAcrossWorkers(kDpHistogramTable, counts));
    const auto& plan = state_.options.dp.plan;
    return CentroidsFromHistogram(grid, noisy, 3 * plan.sigma, state_.k, state_.options.seed);
  }

  // Pass 1 of the column statistics: the number of users (sum 0) and the max and -min of
  // every column (maxima f and d + f), over all workers (under DP the number only).
  Result<ReduceRow> CountAndExtremes() {
    const std::size_t d = state_.d;
    if (state_.options.dp.enabled()) {  // the count only: the extremes are the bounds
      ReduceRow row(state_.layout);
      row.Sum(0) = static_cast<double>(state_.n);
      return state_.ReduceAcrossWorkers(row);
    }
    tbb::enumerable_thread_specific<std::vector<double>> part(
        [&] { return std::vector<double>(2 * d, -kInf); });
    state_.ForChunks([&](std::size_t b, std::size_t e) {
      auto& p = part.local();
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t f = 0; f < d; ++f) {
          p[f] = std::max(p[f], state_.X(i)[f]);
          p[d + f] = std::max(p[d + f], -state_.X(i)[f]);
        }
      }
    });
    ReduceRow row(state_.layout);
    row.Sum(0) = static_cast<double>(state_.n);
    for (const auto& p : part) {
      for (std::size_t j = 0; j < 2 * d; ++j) row.Max(j) = std::max(row.Max(j), p[j]);
    }
    return state_.ReduceAcrossWorkers(row);
  }

  // Pushes sum_i ToFixed(value(i, f, x_if), scale_f) per column f and returns the totals.
  template <class F>
  Result<ReduceRow> FixedColumnSums(F&& value, const std::vector<double>& sc) {
    const std::size_t d = state_.d;
    tbb::enumerable_thread_specific<std::vector<std::int64_t>> part(
        [&] { return std::vector<std::int64_t>(d, 0); });
    state_.ForChunks([&](std::size_t b, std::size_t e) {
      auto& p = part.local();
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t f = 0; f < d; ++f) p[f] += ToFixed(value(i, f, state_.X(i)[f]), sc[f]);
      }
    });
    return SumAcrossWorkers(part);
  }
  // The per-thread column sums added up, then over all workers (one clock).
  Result<ReduceRow> SumAcrossWorkers(
      const tbb::enumerable_thread_specific<std::vector<std::int64_t>>& part) {
    std::vector<std::int64_t> total(state_.d, 0);
    for (const auto& p : part) {
      for (std::size_t f = 0; f < state_.d; ++f) total[f] += p[f];
    }
    ReduceRow row(state_.layout);
    for (std::size_t f = 0; f < state_.d; ++f) row.Sum(f) = static_cast<double>(total[f]);
    return state_.ReduceAcrossWorkers(row);
  }

  // The final assignment; `phase` started with it (summary.finish_seconds).
  Status Finish(const ps::Stopwatch& phase) {
    const std::size_t d = state_.d, k = state_.k;
    const std::size_t sw = state_.layout.stats_width();
    CentroidPanel panel;
    panel.Set(state_.centroids, k, d);
    struct FinalAcc {
      std::vector<double> stats;
      std::vector<std::int64_t> dist;
      std::int64_t inertia = 0;
    };
    tbb::enumerable_thread_specific<FinalAcc> part([&] {
      return FinalAcc{std::vector<double>(k * (d + 1), 0.0), std::vector<std::int64_t>(k, 0), 0};
    });
    state_.ForChunks([&](std::size_t b, std::size_t e) {
      auto& acc = part.local();
      AssignAndAccumulate(state_.X(b), state_.norms.data() + b, e - b, panel,
                          state_.labels.data() + b, d2_.data() + b, acc.stats.data(),
                          state_.options.kernel);
      for (std::size_t i = b; i < e; ++i) {
        const auto c = static_cast<std::size_t>(state_.labels[i]);
        const double sq =
            SquaredDistance(state_.X(i), state_.centroids.data() + c * d, d);  // exact form
        d2_[i] = std::sqrt(sq);  // from here on: the distance, not its square
        acc.inertia += ToFixed(sq, state_.d2_scale);
        acc.dist[c] += ToFixed(d2_[i], state_.dist_scale);
      }
    });
    std::vector<double> stats(k * sw, 0.0);
    std::vector<std::int64_t> dist(k, 0);
    std::int64_t inertia = 0;
    for (const auto& p : part) {
      for (std::size_t j = 0; j < stats.size(); ++j) stats[j] += p.stats[j];  // exact (grid)
      for (std::size_t j = 0; j < k; ++j) dist[j] += p.dist[j];
      inertia += p.inertia;
    }
    state_.summary.centroids = state_.centroids;
    state_.summary.label_means.assign(k * d, 0.0);
    state_.summary.sizes.assign(k, 0);
    mean_distance_.assign(k, 0.0);
    if (state_.options.dp.enabled()) {
      // Private: no statistic of the final assignment leaves the workers (no clock); the
      // sizes are the last iteration's noisy counts, the means the private centroids.
      for (std::size_t j = 0; j < k; ++j) {
        state_.summary.sizes[j] =
            static_cast<std::uint64_t>(std::max(0.0, std::round(state_.noisy_counts[j])));
      }
      state_.summary.label_means = state_.centroids;
      state_.summary.inertia = std::numeric_limits<double>::quiet_NaN();
    } else {
      ReduceRow row(state_.layout);
      row.Sum(0) = static_cast<double>(inertia);
      for (std::size_t j = 0; j < k; ++j) row.Sum(1 + j) = static_cast<double>(dist[j]);
      ECPS_ASSIGN_OR_RETURN(const ClusterTotals totals,
                            state_.ClusterSumsAcrossWorkers(stats, row));

      for (std::size_t j = 0; j < k; ++j) {
        const double count = totals.stats[j * sw + d];
        state_.summary.sizes[j] = static_cast<std::uint64_t>(count);
        const double* src =
            count > 0 ? totals.stats.data() + j * sw : state_.centroids.data() + j * d;
        std::copy_n(src, d, state_.summary.label_means.data() + j * d);
        if (count > 0) mean_distance_[j] = totals.reduce.Sum(1 + j) / state_.dist_scale / count;
      }
      state_.summary.inertia = totals.reduce.Sum(0) / state_.d2_scale;
    }
    state_.summary.mean_distance = mean_distance_;
    state_.summary.normalizer = state_.normalizer;
    state_.summary.threads = state_.ctx.threads;
    state_.summary.kernel = KernelName(state_.options.kernel);
    relative_.resize(state_.n);
    for (std::size_t i = 0; i < state_.n; ++i) {
      const double m = mean_distance_[static_cast<std::size_t>(state_.labels[i])];
      relative_[i] = m > 0 ? d2_[i] / m : 0.0;
    }
    scores_ = state_.options.score == RiskScore::kRelative ? relative_ : d2_;
    state_.summary.finish_seconds = phase.Seconds();
    return state_.Report(PhaseReport::Trained(state_.summary.iterations, state_.summary.inertia,
                                              state_.summary.train_seconds));
  }

  Status SendResults() {
    const std::size_t d = state_.d;
    if (state_.worker == 0) ECPS_RETURN_IF_ERROR(state_.ToScheduler(kSummaryTopic, state_.summary));

    // The silhouette sample: the users with the smallest keys U(seed, sample round, user).
    if (state_.options.silhouette_sample > 0) {
      const std::size_t s = std::min<std::size_t>(state_.n, state_.options.silhouette_sample);
      // Only keys below a bound that about 2s + 64 users pass need sorting: when at least s
      // pass, the s smallest are among them (else all are sorted).
      const double bound =
          std::min(1.0, static_cast<double>(2 * s + 64) / static_cast<double>(state_.n));
      std::vector<std::pair<double, std::size_t>> keys;
      for (std::size_t i = 0; i < state_.n; ++i) {
        const double key = UniformFor(state_.options.seed, kSampleRound, state_.hashes[i]);
        if (key < bound) keys.emplace_back(key, i);
      }
      if (keys.size() < s) {
        keys.clear();
        for (std::size_t i = 0; i < state_.n; ++i) {
          keys.emplace_back(UniformFor(state_.options.seed, kSampleRound, state_.hashes[i]), i);
        }
      }
      auto by_key = [&](const auto& a, const auto& b) {
        return a.first < b.first ||
               (a.first == b.first && state_.Tie(a.second) < state_.Tie(b.second));
      };
      std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(s), keys.end(),
                        by_key);
      SamplePart part;
      for (std::size_t j = 0; j < s; ++j) {
        const std::size_t i = keys[j].second;
        part.keys.push_back(keys[j].first);
        part.ties.push_back(state_.Tie(i));
        part.labels.push_back(state_.labels[i]);
        part.x.insert(part.x.end(), state_.X(i), state_.X(i) + d);
      }
      ECPS_RETURN_IF_ERROR(state_.ToScheduler(kSampleTopic, part));
    }
    // This worker's highest risk scores: enough to find the global top anomaly_rate share.
    if (state_.options.anomaly_scores) {
      const auto r = static_cast<std::size_t>(
          std::ceil(state_.options.anomaly_rate * static_cast<double>(state_.total)));
      std::vector<std::size_t> idx(state_.n);
      std::iota(idx.begin(), idx.end(), std::size_t{0});
      const std::size_t s = std::min(state_.n, r);
      std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(s), idx.end(),
                        [&](std::size_t a, std::size_t b) {
                          return Better(scores_[a], state_.Tie(a), scores_[b], state_.Tie(b));
                        });
      TopScores top;
      for (std::size_t j = 0; j < s; ++j) {
        top.scores.push_back(scores_[idx[j]]);
        top.ties.push_back(state_.Tie(idx[j]));
      }
      ECPS_RETURN_IF_ERROR(state_.ToScheduler(kTopScoresTopic, top));
    }
    if (state_.schema.has_label()) {
      std::vector<int> labels(state_.users.labels.begin(), state_.users.labels.end());
      AucParts auc{ScoreCounts::From(relative_, labels), ScoreCounts::From(d2_, labels)};
      ECPS_RETURN_IF_ERROR(state_.ToScheduler(kAucTopic, auc));
    }
    // assignments.csv rows, in input order, in chunks formatted on this worker's threads.
    std::size_t i = 0;
    do {
      AssignChunk c;
      const std::size_t begin = i, end = std::min(state_.n, i + kAssignChunkRows);
      c.offsets.assign(state_.users.offsets.begin() + static_cast<std::ptrdiff_t>(begin),
                       state_.users.offsets.begin() + static_cast<std::ptrdiff_t>(end));
      if (state_.options.anomaly_scores) {
        c.scores.assign(scores_.begin() + static_cast<std::ptrdiff_t>(begin),
                        scores_.begin() + static_cast<std::ptrdiff_t>(end));
      }
      FormatRows(begin, end, &c);
      i = end;
      c.last = i >= state_.n;
      ECPS_RETURN_IF_ERROR(state_.ToScheduler(kAssignTopic, c));
    } while (i < state_.n);
    return Status::Ok();
  }

  // The text of rows [begin, end) of assignments.csv (AssignChunk), in blocks of kChunk rows
  // formatted in parallel.
  void FormatRows(std::size_t begin, std::size_t end, AssignChunk* c) const {
    const bool with_ids = !state_.options.MasksIds();
    const bool with_scores = state_.options.anomaly_scores;
    const std::size_t blocks = (end - begin + kChunk - 1) / kChunk;
    std::vector<std::string> text(blocks);
    std::vector<std::vector<std::uint64_t>> ends(blocks);
    tbb::parallel_for(std::size_t{0}, blocks, [&](std::size_t block) {
      const std::size_t b = begin + block * kChunk, e = std::min(end, b + kChunk);
      std::string& t = text[block];
      t.reserve((e - b) * 40);
      for (std::size_t i = b; i < e; ++i) {
        if (with_ids) {
          AppendCsvField(&t, state_.users.id(i));
          t += ',';
        }
        char buf[96];  // an int and two shortest doubles (at most 24 characters each)
        char* stop = fmt::format_to(buf, FMT_COMPILE("{},{}"), state_.labels[i], d2_[i]);
        if (with_scores) stop = fmt::format_to(stop, FMT_COMPILE(",{}"), scores_[i]);
        t.append(buf, stop);
        ends[block].push_back(t.size());
      }
    });
    std::size_t bytes = 0;
    for (const auto& t : text) bytes += t.size();
    c->text.reserve(bytes);
    c->text_end.reserve(end - begin);
    for (std::size_t block = 0; block < blocks; ++block) {
      const std::uint64_t base = c->text.size();
      c->text += text[block];
      for (auto e : ends[block]) c->text_end.push_back(base + e);
    }
  }

  WorkerState state_;
  // Per user, from Finish on: the distance to its centroid, that over its cluster's mean
  // distance, and the risk score (one of the two).
  std::vector<double> d2_, relative_, scores_;
  std::vector<double> mean_distance_;  // per cluster
};

}  // namespace

Status RunKMeansWorker(const KMeansOptions& options, const worker::FeatureSchema& schema,
                       const TableLayout& layout, sched::JobContext& ctx) {
  WorkerRun run(options, schema, layout, ctx);
  return run.Run();
}

}  // namespace ecps::models::kmeans
