// A table's rows on one server with the state its rule and finalizer keep: what a checkpoint
// saves of a server (KVServer::SaveShard) and loads back (KVServer::LoadShard), possibly into
// another number of servers (SliceShards cuts each new server's range from the saved shards).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
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

  // Stored sparsely: the rows whose values and states are not all zero (a key never pushed
  // keeps its initial zeros), with their offsets; the arrays come back dense.
  template <class A>
  void save(A& ar) const {
    ar(table, begin, end, width, rule_width, finalizer_width);
    std::vector<std::uint32_t> present;
    std::vector<T> packed;
    const std::size_t n = values.size() == rows() * width && rule_state.size() == rows() * rule_width &&
                                  finalizer_state.size() == rows() * finalizer_width
                              ? rows()
                              : 0;
    for (std::size_t r = 0; r < n; ++r) {
      const auto row = [&](const std::vector<T>& v, std::size_t w) {
        return std::span<const T>(v.data() + r * w, w);
      };
      const auto nonzero = [](std::span<const T> x) {
        return std::any_of(x.begin(), x.end(), [](T v) { return v != T(0); });
      };
      const auto a = row(values, width), b = row(rule_state, rule_width),
                 c = row(finalizer_state, finalizer_width);
      if (!nonzero(a) && !nonzero(b) && !nonzero(c)) continue;
      present.push_back(static_cast<std::uint32_t>(r));
      packed.insert(packed.end(), a.begin(), a.end());
      packed.insert(packed.end(), b.begin(), b.end());
      packed.insert(packed.end(), c.begin(), c.end());
    }
    ar(present, packed);
  }
  template <class A>
  void load(A& ar) {
    ar(table, begin, end, width, rule_width, finalizer_width);
    std::vector<std::uint32_t> present;
    std::vector<T> packed;
    ar(present, packed);
    const std::size_t per = std::size_t{width} + rule_width + finalizer_width;
    if (end < begin || end - begin > (Key{1} << 32) || packed.size() != present.size() * per) {
      throw std::runtime_error("table shard: rows and values do not match");
    }
    values.assign(rows() * width, T(0));
    rule_state.assign(rows() * rule_width, T(0));
    finalizer_state.assign(rows() * finalizer_width, T(0));
    const T* p = packed.data();
    const auto take = [&p](std::vector<T>& to, std::size_t row, std::size_t w) {
      std::copy(p, p + w, to.data() + row * w);
      p += w;
    };
    for (std::uint32_t r : present) {
      if (r >= rows()) throw std::runtime_error("table shard: a row beyond its range");
      take(values, r, width);
      take(rule_state, r, rule_width);
      take(finalizer_state, r, finalizer_width);
    }
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
