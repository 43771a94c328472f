// Server-side update and aggregation rules: what a server does with pushed values.
//
// A Rule applies one push to the stored rows (sum, assign, or a model's own: the optimisers
// of logistic regression are in models/lr/optimizers.h). A Finalizer runs on clocked tables
// once per clock, after every worker's push for that clock has been combined; it is where
// k-means turns sums into centroids.
//
// Rules run on the server's dispatcher thread, one message at a time: no locking inside.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ps/table.h"
#include "ps/types.h"

namespace ecps::ps {

/// The rows a push touches on one server: either the listed keys or a dense key range.
/// `values` and `state` point at the server's whole shard, row 0 being key `base`.
template <class T>
struct RowSpan {
  T* values = nullptr;
  T* state = nullptr;              ///< rule state, state_width values per row (may be null)
  std::size_t width = 0;
  std::size_t state_width = 0;
  Key base = 0;                    ///< first key of the shard
  const Key* keys = nullptr;       ///< sorted keys, or null for the dense range below
  Key range_begin = 0;             ///< with keys == null: rows range_begin .. range_begin+n-1
  std::size_t n = 0;

  std::size_t RowOf(std::size_t i) const {
    return static_cast<std::size_t>((keys ? keys[i] : range_begin + i) - base);
  }
  /// Calls f(value_row, state_row, pushed_row) for each of the n rows.
  template <class F>
  void ForEach(const T* pushed, F&& f) const {
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t r = RowOf(i);
      f(values + r * width, state ? state + r * state_width : nullptr, pushed + i * width);
    }
  }
};

template <class T>
class Rule {
 public:
  virtual ~Rule() = default;
  virtual std::string name() const = 0;
  /// Values of per-key state the rule keeps beside the `width` visible values.
  virtual std::size_t StateWidth(std::size_t /*width*/) const { return 0; }
  /// Initial value of new rows (before any push); 0 by default.
  virtual T InitialValue() const { return T(0); }
  /// Applies `pushed` (rows.n * rows.width values, in row order) to the rows.
  virtual void Apply(const RowSpan<T>& rows, const T* pushed) = 0;
};

/// Where a finalizer runs: which table, clock and part of the key space.
struct FinalizeContext {
  TableId table = 0;
  Clock clock = 0;        ///< the clock whose pushes are in the aggregate
  KeyRange range;         ///< this server's keys
  std::size_t width = 0;
  int server_index = 0;
  int num_servers = 0;
  int num_workers = 0;
};

template <class T>
class Finalizer {
 public:
  virtual ~Finalizer() = default;
  /// Combines one push into the clock's aggregate rows. The default adds.
  virtual void Accumulate(const RowSpan<T>& aggregate_rows, const T* pushed) {
    const std::size_t w = aggregate_rows.width;
    aggregate_rows.ForEach(pushed, [w](T* acc, T*, const T* p) {
      for (std::size_t j = 0; j < w; ++j) acc[j] += p[j];
    });
  }
  /// True when Accumulate leaves the aggregate rows of a keyed push untouched (it keeps such
  /// pushes itself): the table then reuses the clock's buffer without clearing it.
  virtual bool KeepsKeyedPushes() const { return false; }
  /// Values of per-row state the finalizer keeps itself (a rule's state when it applies one),
  /// saved and restored by checkpoints (ps/table_shard.h); 0 = none.
  virtual std::size_t StateWidth() const { return 0; }
  /// The state of the server's rows, row-major; empty while none is kept yet (all zeros).
  /// Read between clocks only.
  virtual std::span<const T> State() const { return {}; }
  /// Replaces the state with what SaveState returned (rows x StateWidth() values), before
  /// the next clock is finalized.
  virtual void LoadState(std::vector<T> /*state*/) {}
  /// Called once per clock when every worker has finished it. `aggregate` holds this
  /// server's rows of the combined pushes (zero rows where nobody pushed); write the rows
  /// that become visible into `values` (same layout; it holds the previous visible rows).
  virtual void Finalize(const FinalizeContext& ctx, std::span<const T> aggregate,
                        std::span<T> values) = 0;
};

// ---- Built-in rules ----------------------------------------------------------------------

/// value += pushed. Sums of integer-valued floats are exact.
template <class T>
class SumRule final : public Rule<T> {
 public:
  std::string name() const override { return "sum"; }
  void Apply(const RowSpan<T>& rows, const T* pushed) override {
    const std::size_t w = rows.width;
    if (!rows.keys && w == 1) {  // dense range of scalars: a straight vectorisable loop
      T* v = rows.values + (rows.range_begin - rows.base);
      for (std::size_t i = 0; i < rows.n; ++i) v[i] += pushed[i];
      return;
    }
    rows.ForEach(pushed, [w](T* v, T*, const T* p) {
      for (std::size_t j = 0; j < w; ++j) v[j] += p[j];
    });
  }
};

/// value = pushed (last writer wins).
template <class T>
class AssignRule final : public Rule<T> {
 public:
  std::string name() const override { return "assign"; }
  void Apply(const RowSpan<T>& rows, const T* pushed) override {
    const std::size_t w = rows.width;
    rows.ForEach(pushed, [w](T* v, T*, const T* p) {
      for (std::size_t j = 0; j < w; ++j) v[j] = p[j];
    });
  }
};

/// Finalizer that applies the table's rule once with the clock's aggregate (e.g. BSP SGD on
/// the summed gradients of all workers). Rows nobody pushed to get a zero update.
template <class T>
class ApplyRuleFinalizer final : public Finalizer<T> {
 public:
  explicit ApplyRuleFinalizer(Rule<T>& rule, std::size_t state_width, T* state)
      : rule_(rule), state_width_(state_width), state_(state) {}
  void Finalize(const FinalizeContext& ctx, std::span<const T> aggregate,
                std::span<T> values) override {
    RowSpan<T> rows{values.data(), state_, ctx.width, state_width_, ctx.range.begin, nullptr,
                    ctx.range.begin, ctx.range.size()};
    rule_.Apply(rows, aggregate.data());
  }

 private:
  Rule<T>& rule_;
  std::size_t state_width_;
  T* state_;
};

}  // namespace ecps::ps
