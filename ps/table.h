// Tables: named ranges of 64-bit keys with a fixed number of values per key, split across
// the servers by contiguous key ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ps/status.h"
#include "ps/types.h"

namespace ecps::ps {

enum class ValueType : std::uint8_t { kFloat32, kFloat64 };

template <class T>
constexpr ValueType ValueTypeOf() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "table values are float or double");
  return std::is_same_v<T, float> ? ValueType::kFloat32 : ValueType::kFloat64;
}

inline std::size_t ValueSize(ValueType t) { return t == ValueType::kFloat32 ? 4 : 8; }

/// Describes one table; every rank of a job builds the same list (the model's table list).
struct TableSpec {
  TableId id = 0;            ///< unique within the job; messages carry it
  std::string name;          ///< for messages and logs ("lr.weights")
  ValueType type = ValueType::kFloat32;
  std::uint32_t width = 1;   ///< values per key
  Key num_keys = 0;          ///< keys are [0, num_keys); sparse features are hashed into it
  /// Per-clock aggregation: pushes for clock t are combined into a buffer, and when every
  /// worker has finished clock t the table's finalizer turns the buffer into the visible
  /// values. Without it, each push is applied by the rule as soon as it arrives.
  bool clocked = false;

  Status Validate() const;
  std::size_t row_bytes() const { return width * ValueSize(type); }
};

/// [begin, end) of keys.
struct KeyRange {
  Key begin = 0;
  Key end = 0;
  Key size() const { return end - begin; }
  bool Contains(Key k) const { return k >= begin && k < end; }
};

/// Contiguous key ranges of near-equal size, one per server.
class RangePartition {
 public:
  RangePartition(Key num_keys, int num_servers) : num_keys_(num_keys), num_servers_(num_servers) {}

  int num_servers() const { return num_servers_; }
  /// Keys owned by server `s` (0-based server index).
  KeyRange RangeOf(int s) const;
  /// The server index owning key `k`.
  int ServerOf(Key k) const;
  /// For keys sorted ascending: boundaries b[0..S] so that keys[b[s], b[s+1]) belong to
  /// server s. O(S log n).
  std::vector<std::size_t> Split(std::span<const Key> sorted_keys) const;

 private:
  Key num_keys_;
  int num_servers_;
};

/// True when `keys` is strictly increasing (sorted and unique).
bool SortedUnique(std::span<const Key> keys);

}  // namespace ecps::ps
