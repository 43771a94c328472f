// The parameter-server tables of k-means and their per-clock finalizers. All three tables are
// clocked (BSP): each worker pushes its partials for a clock, and when the slowest worker has
// finished the clock the server's finalizer turns the combined pushes into the values that
// the next pulls see.
//
//   kmeans.stats   k keys x (d + 1): per cluster the coordinate sums and the count. The
//                  finalizer writes the new centroid (sums / count) and the count; a cluster
//                  nobody was assigned to keeps its previous centroid with count 0 (the workers
//                  then re-seed it).
//   kmeans.reduce  1 key: job-wide scalars. Column 0 counts pushes; then `sums` integer-valued
//                  columns that are added; then `maxes` columns that keep the maximum.
//   kmeans.top     1 key: the best m candidates (score descending, tie ascending) of all
//                  workers, each entry (valid, score, tie, d coordinates, one extra value).
//                  Used for weighted sampling with exponential keys (k-means++), the farthest
//                  points that re-seed empty clusters, and sampling without replacement.
//
// Every combination is exact and independent of the order in which pushes arrive (sums of
// values on a grid that stay below 2^53 grid steps — see kernel.h —, max, and a total order),
// so results do not depend on timing.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "ps/rules.h"
#include "ps/table.h"

namespace ecps::models::kmeans {

constexpr ps::TableId kStatsTable = 1;
constexpr ps::TableId kReduceTable = 2;
constexpr ps::TableId kTopTable = 3;

/// Widths of the job's tables for k clusters, d features and m top entries.
struct TableLayout {
  std::size_t k = 0, d = 0, m = 0;
  std::size_t sums = 0, maxes = 0;  ///< reduce columns after the push counter

  static TableLayout For(std::size_t k, std::size_t d);
  std::size_t stats_width() const { return d + 1; }
  std::size_t reduce_width() const { return 1 + sums + maxes; }
  /// (valid, score, tie) + payload: d coordinates and one extra value (e.g. a cluster id).
  std::size_t payload() const { return d + 1; }
  std::size_t entry_width() const { return 3 + payload(); }
  std::size_t top_width() const { return m * entry_width(); }
  std::vector<ps::TableSpec> Specs() const;
};

/// kmeans.stats: sums and counts -> centroids.
class StatsFinalizer final : public ps::Finalizer<double> {
 public:
  explicit StatsFinalizer(std::size_t d) : d_(d) {}
  void Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                std::span<double> values) override;

 private:
  std::size_t d_;
};

/// kmeans.reduce: push counter, sums, maxima.
class ReduceFinalizer final : public ps::Finalizer<double> {
 public:
  ReduceFinalizer(std::size_t sums, std::size_t maxes) : sums_(sums), maxes_(maxes) {}
  void Accumulate(const ps::RowSpan<double>& aggregate_rows, const double* pushed) override;
  void Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                std::span<double> values) override;

 private:
  std::size_t sums_, maxes_;
};

/// One candidate of kmeans.top (a view of an entry of width 3 + payload).
struct TopEntry {
  double score = 0;
  double tie = 0;
  const double* payload = nullptr;
};

/// kmeans.top: merges lists of up to m entries, keeping the m best.
class TopFinalizer final : public ps::Finalizer<double> {
 public:
  TopFinalizer(std::size_t m, std::size_t entry_width) : m_(m), w_(entry_width) {}
  void Accumulate(const ps::RowSpan<double>& aggregate_rows, const double* pushed) override;
  void Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                std::span<double> values) override;

 private:
  std::size_t m_, w_;
};

/// a ranks before b: higher score, then lower tie.
inline bool Better(double score_a, double tie_a, double score_b, double tie_b) {
  return score_a > score_b || (score_a == score_b && tie_a < tie_b);
}

/// Merges two lists of entries (each sorted best first, invalid entries last) into `out`,
/// keeping the best m. Lists are m * w values; entry = (valid, score, tie, payload...).
void MergeTop(const double* a, const double* b, std::size_t m, std::size_t w, double* out);

/// A worker-side list of the best m candidates, in the layout of kmeans.top.
class TopList {
 public:
  TopList(std::size_t m, std::size_t payload) : m_(m), payload_(payload) {}
  /// Offers a candidate; `payload` (payload() values) is copied when it is kept.
  void Offer(double score, double tie, const double* payload);
  /// True when a candidate with this score and tie would be kept (cheap: call it first).
  bool WouldKeep(double score, double tie) const {
    return entries_.size() < m_ ? m_ > 0 : Better(score, tie, entries_.back().score, entries_.back().tie);
  }
  /// The score a candidate must at least have to be kept (-inf while the list is not full).
  double Worst() const {
    return entries_.size() < m_ || m_ == 0 ? -std::numeric_limits<double>::infinity() : entries_.back().score;
  }
  void Merge(const TopList& other);
  /// The list in table layout: m entries of (valid, score, tie, payload), best first.
  std::vector<double> Row() const;
  std::size_t size() const { return entries_.size(); }
  std::size_t payload() const { return payload_; }

 private:
  struct Entry {
    double score, tie;
    std::vector<double> payload;
  };
  std::size_t m_, payload_;
  std::vector<Entry> entries_;  // best first
};

/// Parses a pulled kmeans.top row into its valid entries, best first.
std::vector<TopEntry> ReadTop(std::span<const double> row, std::size_t m, std::size_t w);

}  // namespace ecps::models::kmeans
