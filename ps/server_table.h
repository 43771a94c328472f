// One table's shard on a server: storage, rule, and per-clock aggregation buffers.
// Used by KVServer; not part of the model-facing API.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "ps/message.h"
#include "ps/rules.h"
#include "ps/table.h"
#include "ps/table_shard.h"

namespace ecps::ps {

class ServerTable {
 public:
  virtual ~ServerTable() = default;
  const TableSpec& spec() const { return spec_; }
  KeyRange range() const { return ctx_.range; }

  /// Applies a push (unclocked tables) or combines it into the buffer of its clock.
  virtual Status Push(const Message& m) = 0;
  /// The requested rows, in request order.
  virtual Result<Blob> Pull(const Message& m) const = 0;
  /// Runs the finalizer for `clock` and drops its buffer; no-op for unclocked tables.
  virtual void FinalizeClock(Clock clock) = 0;

 protected:
  ServerTable(TableSpec spec, FinalizeContext ctx) : spec_(std::move(spec)), ctx_(ctx) {}

  /// Checks that the request's keys (or range) lie in this shard and counts its rows.
  Result<std::size_t> CheckRows(const Message& m) const {
    const auto keys = m.keys.As<Key>();
    if (m.head.key_bytes % sizeof(Key) != 0) {
      return InvalidArgument(fmt::format("table {}: key bytes not a multiple of 8", spec_.name));
    }
    if (!keys.empty()) {
      if (!ctx_.range.Contains(keys.front()) || !ctx_.range.Contains(keys.back())) {
        return InvalidArgument(fmt::format("table {}: keys [{}, {}] outside this server's range [{}, {})",
                                           spec_.name, keys.front(), keys.back(), ctx_.range.begin,
                                           ctx_.range.end));
      }
      // Sorted and unique, as KVClient sends them: then every key lies between the first and
      // the last. A peer that breaks the contract is refused before any row is touched.
      for (std::size_t i = 1; i < keys.size(); ++i) {
        if (keys[i] <= keys[i - 1]) {
          return InvalidArgument(fmt::format("table {}: keys not sorted and unique (key {} after {})",
                                             spec_.name, keys[i], keys[i - 1]));
        }
      }
      return keys.size();
    }
    if (m.head.range_begin > m.head.range_end || m.head.range_begin < ctx_.range.begin ||
        m.head.range_end > ctx_.range.end) {
      return InvalidArgument(fmt::format("table {}: range [{}, {}) outside this server's range [{}, {})",
                                         spec_.name, m.head.range_begin, m.head.range_end,
                                         ctx_.range.begin, ctx_.range.end));
    }
    return static_cast<std::size_t>(m.head.range_end - m.head.range_begin);
  }

  TableSpec spec_;
  FinalizeContext ctx_;
};

template <class T>
class TypedServerTable final : public ServerTable {
 public:
  TypedServerTable(TableSpec spec, FinalizeContext ctx, std::unique_ptr<Rule<T>> rule,
                   std::unique_ptr<Finalizer<T>> finalizer)
      : ServerTable(std::move(spec), ctx), rule_(std::move(rule)), finalizer_(std::move(finalizer)) {
    const std::size_t rows = ctx_.range.size();
    values_.assign(rows * spec_.width, rule_->InitialValue());
    state_width_ = rule_->StateWidth(spec_.width);
    state_.assign(rows * state_width_, T(0));
    if (spec_.clocked && !finalizer_) {
      finalizer_ = std::make_unique<ApplyRuleFinalizer<T>>(*rule_, state_width_,
                                                           state_.empty() ? nullptr : state_.data());
    }
  }

  std::span<const T> values() const { return values_; }

  Status Push(const Message& m) override {
    ECPS_ASSIGN_OR_RETURN(std::size_t n, CheckRows(m));
    if (m.head.value_bytes != n * spec_.width * sizeof(T)) {
      return InvalidArgument(fmt::format("table {}: push of {} rows carries {} value bytes, expected {}",
                                         spec_.name, n, m.head.value_bytes, n * spec_.width * sizeof(T)));
    }
    const T* pushed = m.values.As<T>().data();
    if (spec_.clocked) {
      auto& agg = aggregates_[m.head.clock];
      if (agg.values.empty()) agg.values = TakeClearBuffer();
      if (m.keys.As<Key>().empty() || !finalizer_->KeepsKeyedPushes()) agg.written = true;
      finalizer_->Accumulate(Rows(m, agg.values.data(), nullptr, n), pushed);
    } else {
      rule_->Apply(Rows(m, values_.data(), state_.empty() ? nullptr : state_.data(), n), pushed);
    }
    return Status::Ok();
  }

  Result<Blob> Pull(const Message& m) const override {
    ECPS_ASSIGN_OR_RETURN(std::size_t n, CheckRows(m));
    const std::size_t w = spec_.width;
    Blob out = Blob::Allocate(n * w * sizeof(T));
    T* dst = n ? out.MutableAs<T>().data() : nullptr;
    const auto keys = m.keys.As<Key>();
    if (keys.empty()) {
      const T* src = values_.data() + (m.head.range_begin - ctx_.range.begin) * w;
      std::copy(src, src + n * w, dst);
    } else if (w == 1) {
      const T* base = values_.data() - ctx_.range.begin;
      for (std::size_t i = 0; i < n; ++i) dst[i] = base[keys[i]];
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const T* src = values_.data() + (keys[i] - ctx_.range.begin) * w;
        std::copy(src, src + w, dst + i * w);
      }
    }
    return out;
  }

  /// The shard with its rule's and finalizer's state, rows that are all zero left out;
  /// FailedPrecondition while a clock's pushes wait to be finalized (a shard is saved
  /// between clocks).
  Result<TableShard<T>> Save() const {
    if (!aggregates_.empty()) {
      return FailedPrecondition(fmt::format("table {}: clock {} is not finalized yet", spec_.name,
                                            aggregates_.begin()->first));
    }
    const std::size_t w = spec_.width, rw = state_width_, fw = finalizer_ ? finalizer_->StateWidth() : 0;
    const std::span<const T> fs = finalizer_ ? finalizer_->State() : std::span<const T>();
    TableShard<T> s{spec_.id, ctx_.range.begin, ctx_.range.end, static_cast<std::uint32_t>(w),
                    static_cast<std::uint32_t>(rw), static_cast<std::uint32_t>(fw), {}, {}};
    const auto zero = [](const T* p, std::size_t n) {
      return std::all_of(p, p + n, [](T v) { return v == T(0); });
    };
    for (std::size_t r = 0; r < ctx_.range.size(); ++r) {
      const T* v = values_.data() + r * w;
      const T* rs = state_.data() + r * rw;
      const T* f = fs.empty() ? nullptr : fs.data() + r * fw;
      if (zero(v, w) && zero(rs, rw) && (f == nullptr || zero(f, fw))) continue;
      s.present.push_back(static_cast<std::uint32_t>(r));
      s.packed.insert(s.packed.end(), v, v + w);
      s.packed.insert(s.packed.end(), rs, rs + rw);
      if (f != nullptr) {
        s.packed.insert(s.packed.end(), f, f + fw);
      } else {
        s.packed.resize(s.packed.size() + fw, T(0));
      }
    }
    return s;
  }

  /// Replaces the rows and state with `s`, which must hold exactly this shard's range (rows
  /// it does not hold become zeros).
  Status Load(const TableShard<T>& s) {
    const std::size_t w = spec_.width, rw = state_width_, fw = finalizer_ ? finalizer_->StateWidth() : 0;
    ECPS_RETURN_IF_ERROR(s.Check());
    if (s.begin != ctx_.range.begin || s.end != ctx_.range.end || s.width != w || s.rule_width != rw ||
        s.finalizer_width != fw) {
      return DataError(fmt::format("table {}: a shard of keys [{}, {}) ({} + {} + {} values per row) does not "
                                   "fit this server's [{}, {}) ({} + {} + {})",
                                   spec_.name, s.begin, s.end, s.width, s.rule_width, s.finalizer_width,
                                   ctx_.range.begin, ctx_.range.end, w, rw, fw));
    }
    std::fill(values_.begin(), values_.end(), T(0));
    std::fill(state_.begin(), state_.end(), T(0));
    std::vector<T> fstate(ctx_.range.size() * fw, T(0));
    const T* p = s.packed.data();
    const auto take = [&p](T* to, std::size_t n) {
      std::copy(p, p + n, to);
      p += n;
    };
    for (std::uint32_t r : s.present) {
      take(values_.data() + r * w, w);
      take(state_.data() + r * rw, rw);
      take(fstate.data() + r * fw, fw);
    }
    if (finalizer_) finalizer_->LoadState(std::move(fstate));
    return Status::Ok();
  }

  void FinalizeClock(Clock clock) override {
    if (!spec_.clocked) return;
    auto it = aggregates_.find(clock);
    Aggregate none;
    if (it == aggregates_.end()) none.values = TakeClearBuffer();
    Aggregate& agg = it != aggregates_.end() ? it->second : none;
    FinalizeContext ctx = ctx_;
    ctx.clock = clock;
    finalizer_->Finalize(ctx, agg.values, values_);
    KeepClearBuffer(std::move(agg));
    if (it != aggregates_.end()) aggregates_.erase(it);
  }

 private:
  RowSpan<T> Rows(const Message& m, T* values, T* state, std::size_t n) const {
    const auto keys = m.keys.As<Key>();
    return RowSpan<T>{values, state, spec_.width, state_width_, ctx_.range.begin,
                      keys.empty() ? nullptr : keys.data(), m.head.range_begin, n};
  }

  std::unique_ptr<Rule<T>> rule_;
  std::unique_ptr<Finalizer<T>> finalizer_;
  std::vector<T> values_;
  std::vector<T> state_;
  std::size_t state_width_ = 0;
  // A clock's combined pushes; `written`: Accumulate may have made rows non-zero.
  struct Aggregate {
    std::vector<T> values;
    bool written = false;
  };
  // An all-zero buffer of the shard's size: a kept one, else a new one. Clocks reuse buffers
  // instead of allocating (and the kernel zeroing) a shard-sized buffer each.
  std::vector<T> TakeClearBuffer() {
    while (!clear_.empty()) {
      std::vector<T> b = std::move(clear_.back());
      clear_.pop_back();
      if (b.size() == values_.size()) return b;
    }
    return std::vector<T>(values_.size(), T(0));
  }
  void KeepClearBuffer(Aggregate&& a) {
    constexpr std::size_t kKept = 2;
    if (clear_.size() >= kKept || a.values.size() != values_.size()) return;
    if (a.written) std::fill(a.values.begin(), a.values.end(), T(0));
    clear_.push_back(std::move(a.values));
  }

  std::map<Clock, Aggregate> aggregates_;  // per clock, until finalized
  std::vector<std::vector<T>> clear_;      // all-zero buffers for the next clocks
};

}  // namespace ecps::ps
