// What every phase of a k-means worker shares (internal to models/kmeans): the worker's
// users and their derived arrays, the centroids, the grids of its exact sums, the parallel
// loops over its users, and the typed exchanges with the servers (one clock each) and the scheduler.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include <tbb/parallel_for.h>

#include "models/kmeans/kernel.h"
#include "models/kmeans/kmeans.h"
#include "models/kmeans/messages.h"
#include "models/kmeans/screen.h"
#include "ps/message.h"
#include "worker/user_shard.h"

namespace ecps::models::kmeans {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr std::size_t kChunk = 2048;  // users per task
inline constexpr std::size_t kSerialBelow = 1 << 15;  // users: smaller loops stay on one thread

/// A kmeans.reduce row: the push counter, then `layout.sums` exact sums, then `layout.maxes`
/// maxima. Made with the counter at 1, the sums at 0 and the maxima at -inf.
class ReduceRow {
 public:
  explicit ReduceRow(const TableLayout& layout);
  double& Sum(std::size_t i) { return values_[1 + i]; }
  double Sum(std::size_t i) const { return values_[1 + i]; }
  double& Max(std::size_t i) { return values_[1 + sums_ + i]; }
  double Max(std::size_t i) const { return values_[1 + sums_ + i]; }
  const std::vector<double>& values() const { return values_; }
  std::vector<double>& values() { return values_; }

 private:
  std::size_t sums_;
  std::vector<double> values_;
};

/// The servers' totals of one Lloyd-type clock: kmeans.stats (k x stats_width: the new
/// centroids, then the count) and the kmeans.reduce row.
struct ClusterTotals {
  std::vector<double> stats;
  ReduceRow reduce;
};

/// One worker's data and plumbing, shared by loading, seeding, Lloyd and the results.
class WorkerState {
 public:
  WorkerState(const KMeansOptions& job_options, const worker::FeatureSchema& feature_schema,
              const TableLayout& table_layout, sched::JobContext& job_context);

  // ---- Exchanges: each is one clock of every worker, pushes before it, pulls after ----

  /// Pushes this worker's kmeans.reduce row and returns the totals over all workers.
  Result<ReduceRow> ReduceAcrossWorkers(const ReduceRow& mine);
  /// Pushes this worker's kmeans.top list (TopList::Row) and returns the global list.
  Result<std::vector<double>> MergeTopAcrossWorkers(const std::vector<double>& mine);
  /// Pushes this worker's cluster sums (k x stats_width) and reduce row; returns the totals.
  Result<ClusterTotals> ClusterSumsAcrossWorkers(const std::vector<double>& sums,
                                                 const ReduceRow& mine);
  /// Pushes one value per key of `table` (width 1, keys [0, mine.size())) and returns what
  /// the servers' finalizer made of the totals (DP: the noisy histogram).
  Result<std::vector<double>> ColumnAcrossWorkers(ps::TableId table,
                                                  const std::vector<double>& mine);

  /// Worker 0 tells the scheduler where the job is (PhaseReport's constructors); others no-op.
  Status Report(const PhaseReport& report);
  template <class T>
  Status ToScheduler(std::uint32_t topic, const T& value) {
    return ctx.node.SendControl(ps::RoleTable::kSchedulerRank, topic, ps::EncodeControl(value));
  }
  ps::Deadline Deadline() const { return ctx.node.DefaultDeadline(); }

  // ---- Threads ----

  /// Runs body(begin, end) over chunks of the local users on this worker's threads (JobContext::threads).
  template <class F>
  void ForChunks(F&& body) {
    ForChunksOf(n, body);
  }
  /// The same over [0, count): another array of users (a sample). Fewer than kSerialBelow
  /// run on the calling thread: there a fork and join costs more than it saves, and far
  /// more when other work holds the cores (the join waits for a descheduled thread).
  template <class F>
  void ForChunksOf(std::size_t count, F&& body) {
    if (count == 0) return;
    if (count < kSerialBelow) {
      for (std::size_t b = 0; b < count; b += kChunk) body(b, std::min(count, b + kChunk));
      return;
    }
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, count, kChunk),
        [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); },
        tbb::simple_partitioner());
  }
  /// Runs body(b0, b1) over ranges of whole screen blocks (16 users each; the last block may
  /// be partial) on this worker's threads.
  template <class F>
  void ForBlocks(F&& body) {
    const std::size_t blocks = (n + kScreenBlock - 1) / kScreenBlock;
    if (blocks == 0) return;
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, blocks, 4 * kChunk / kScreenBlock),
        [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); },
        tbb::simple_partitioner());
  }

  // ---- Users ----

  const double* X(std::size_t i) const { return x_data + i * d; }
  /// The user's byte offset: the tie-break of every ranking (the same in any split).
  double Tie(std::size_t i) const { return static_cast<double>(users.offsets[i]); }
  /// ||x_i - o||^2 on its grid (q[i]; the same bits whichever worker holds the user).
  std::int64_t NormFromOrigin(std::size_t i) const {
    return ToFixed(SquaredDistance(X(i), origin.data(), d), q_scale);
  }

  const KMeansOptions& options;
  const worker::FeatureSchema& schema;
  const TableLayout& layout;
  sched::JobContext& ctx;
  int worker;  ///< this worker's index
  std::size_t k, d;

  worker::UserTable users;  ///< its features are normalised and snapped in place
  const double* x_data = nullptr;     ///< users.features
  std::size_t n = 0;                  ///< this worker's users
  std::uint64_t total = 0;            ///< users of all workers
  std::vector<std::uint64_t> hashes;  ///< per user: hash of the id and seed
  std::vector<double> norms;          ///< per user: ||x||^2
  std::vector<std::int32_t> labels;   ///< per user: its cluster (-1 before the first)
  std::vector<std::int64_t> q;        ///< per user: ToFixed(||x - o||^2, q_scale)
  Normalizer normalizer;
  double d2_scale = 1, dist_scale = 1;  ///< grids of squared distances and distances
  double tol = 0;                       ///< the Lloyd stop on centroid movement
  std::vector<double> origin;           ///< o: the data mean, fitted space
  double q_scale = 1;                   ///< grid of the sums of ||x - o||^2
  ScreenPoints screen;                  ///< the float32 screen's copy of the users
  std::vector<double> centroids;        ///< k x d, fitted space
  std::vector<double> noisy_counts;     ///< under DP: the last iteration's noisy counts (k)
  /// Resumed from a checkpoint: Lloyd iterations already done, and the centroids the users'
  /// labels were assigned to there (empty otherwise).
  int start_iteration = 0;
  std::vector<double> resume_label_centroids;
  Summary summary;

 private:
  struct Round;  // rows pushed before one clock and tables pulled after it
  Status RunRound(const Round& round);

  ps::KVClient& kv_;
};

}  // namespace ecps::models::kmeans
