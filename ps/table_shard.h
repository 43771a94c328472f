// A table's rows on one server with the state its rule and finalizer keep: what a checkpoint
// saves of a server (KVServer::SaveShard) and loads back (KVServer::LoadShard), possibly into
// another number of servers (SliceShards cuts each new server's range from the saved shards).
// Sparse: only the rows whose values and states are not all zero (a key never pushed keeps
// its zeros) are held, so a shard costs what the keys in use cost.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include "ps/status.h"
#include "ps/table.h"
#include "ps/types.h"

namespace ecps::ps {

template <class T>
struct TableShard {
  TableId table = 0;
  Key begin = 0, end = 0;             ///< the rows' keys: [begin, end)
  std::uint32_t width = 1;            ///< values per row
  std::uint32_t rule_width = 0;       ///< the table rule's state per row (Rule::StateWidth)
  std::uint32_t finalizer_width = 0;  ///< the finalizer's state per row (Finalizer::StateWidth)
  std::vector<std::uint32_t> present;  ///< rows held (key - begin), ascending
  /// Per row held: its width values, then rule_width and finalizer_width state values.
  std::vector<T> packed;

  std::size_t rows() const { return static_cast<std::size_t>(end - begin); }
  std::size_t per_row() const { return std::size_t{width} + rule_width + finalizer_width; }
  /// The packed row of `key` (values, rule state, finalizer state); zeros when not held.
  std::vector<T> Row(Key key) const {
    const auto it = std::lower_bound(present.begin(), present.end(), key - begin);
    if (key < begin || it == present.end() || *it != key - begin) return std::vector<T>(per_row(), T(0));
    const auto at = packed.begin() + static_cast<std::ptrdiff_t>((it - present.begin()) * per_row());
    return {at, at + static_cast<std::ptrdiff_t>(per_row())};
  }
  /// DataError unless the rows are ascending, inside [begin, end), and match `packed`.
  Status Check() const {
    bool ok = end >= begin && end - begin <= (Key{1} << 32) && packed.size() == present.size() * per_row();
    for (std::size_t i = 0; ok && i < present.size(); ++i) {
      ok = present[i] < rows() && (i == 0 || present[i] > present[i - 1]);
    }
    if (ok) return Status::Ok();
    return DataError(fmt::format("table {}: shard [{}, {}) is malformed", table, begin, end));
  }
  template <class A>
  void serialize(A& ar) {
    ar(table, begin, end, width, rule_width, finalizer_width, present, packed);
  }
};

/// The rows `range` of one table cut from `parts` (shards of that table that together cover
/// it, in any order and split). DataError when a part is malformed, the parts' widths differ,
/// or a key of `range` is in no part.
template <class T>
Result<TableShard<T>> SliceShards(std::vector<TableShard<T>> parts, KeyRange range) {
  if (parts.empty()) return DataError("no table shards to cut a range from");
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  const TableShard<T>& first = parts.front();
  TableShard<T> out{first.table, range.begin, range.end, first.width, first.rule_width,
                    first.finalizer_width, {}, {}};
  const std::size_t per = out.per_row();
  Key next = range.begin;  // keys below are covered
  for (const auto& p : parts) {
    ECPS_RETURN_IF_ERROR(p.Check());
    if (p.table != out.table || p.width != out.width || p.rule_width != out.rule_width ||
        p.finalizer_width != out.finalizer_width) {
      return DataError(fmt::format("table {}: shard [{}, {}) does not fit the others", p.table,
                                   p.begin, p.end));
    }
    const Key lo = std::max(p.begin, range.begin), hi = std::min(p.end, range.end);
    if (lo >= hi) continue;
    if (lo <= next) next = std::max(next, hi);
    for (std::size_t i = 0; i < p.present.size(); ++i) {
      const Key key = p.begin + p.present[i];
      if (key < lo || key >= hi) continue;
      out.present.push_back(static_cast<std::uint32_t>(key - range.begin));
      const auto at = p.packed.begin() + static_cast<std::ptrdiff_t>(i * per);
      out.packed.insert(out.packed.end(), at, at + static_cast<std::ptrdiff_t>(per));
    }
  }
  if (next < range.end) {
    return DataError(fmt::format("table {}: no saved shard holds key {}", out.table, next));
  }
  return out;
}

}  // namespace ecps::ps
