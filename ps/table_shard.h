// A table's rows on one server with the state its rule and finalizer keep: what a checkpoint
// saves of a server (KVServer::SaveShard) and loads back (KVServer::LoadShard), possibly into
// another number of servers (SliceShards cuts each new server's range from the saved shards).
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
  std::vector<T> values, rule_state, finalizer_state;  ///< row-major

  std::size_t rows() const { return static_cast<std::size_t>(end - begin); }
  template <class A>
  void serialize(A& ar) {
    ar(table, begin, end, width, rule_width, finalizer_width, values, rule_state, finalizer_state);
  }
};

/// The rows `range` of one table cut from `parts` (shards of that table that together cover
/// it, in any order and split). DataError when a part's arrays do not match its widths, the
/// parts' widths differ, or a key of `range` is in no part.
template <class T>
Result<TableShard<T>> SliceShards(const std::vector<TableShard<T>>& parts, KeyRange range) {
  if (parts.empty()) return DataError("no table shards to cut a range from");
  const TableShard<T>& first = parts.front();
  TableShard<T> out{first.table, range.begin, range.end, first.width, first.rule_width,
                    first.finalizer_width, {}, {}, {}};
  const std::size_t n = out.rows();
  out.values.resize(n * out.width);
  out.rule_state.resize(n * out.rule_width);
  out.finalizer_state.resize(n * out.finalizer_width);
  std::vector<std::pair<Key, Key>> covered;
  for (const auto& p : parts) {
    if (p.table != out.table || p.width != out.width || p.rule_width != out.rule_width ||
        p.finalizer_width != out.finalizer_width || p.end < p.begin ||
        p.values.size() != p.rows() * p.width || p.rule_state.size() != p.rows() * p.rule_width ||
        p.finalizer_state.size() != p.rows() * p.finalizer_width) {
      return DataError(fmt::format("table {}: shard [{}, {}) does not fit the others", p.table,
                                   p.begin, p.end));
    }
    const Key lo = std::max(p.begin, range.begin), hi = std::min(p.end, range.end);
    if (lo >= hi) continue;
    covered.emplace_back(lo, hi);
    const auto copy = [&](const std::vector<T>& from, std::vector<T>& to, std::size_t w) {
      std::copy(from.begin() + static_cast<std::ptrdiff_t>((lo - p.begin) * w),
                from.begin() + static_cast<std::ptrdiff_t>((hi - p.begin) * w),
                to.begin() + static_cast<std::ptrdiff_t>((lo - range.begin) * w));
    };
    copy(p.values, out.values, out.width);
    copy(p.rule_state, out.rule_state, out.rule_width);
    copy(p.finalizer_state, out.finalizer_state, out.finalizer_width);
  }
  std::sort(covered.begin(), covered.end());
  Key next = range.begin;
  for (const auto& [lo, hi] : covered) {
    if (lo > next) break;
    next = std::max(next, hi);
  }
  if (next < range.end) {
    return DataError(fmt::format("table {}: no saved shard holds key {}", out.table, next));
  }
  return out;
}

}  // namespace ecps::ps
