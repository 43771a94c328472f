#include "ps/table.h"

#include <algorithm>

#include <fmt/format.h>

namespace ecps::ps {

Status TableSpec::Validate() const {
  if (name.empty()) return InvalidArgument(fmt::format("table {}: empty name", id));
  if (width == 0) return InvalidArgument(fmt::format("table {}: width must be >= 1", name));
  if (num_keys == 0) return InvalidArgument(fmt::format("table {}: num_keys must be >= 1", name));
  return Status::Ok();
}

KeyRange RangePartition::RangeOf(int s) const {
  auto n = static_cast<U128>(num_keys_);
  auto begin = static_cast<Key>(n * static_cast<unsigned>(s) / static_cast<unsigned>(num_servers_));
  auto end = static_cast<Key>(n * static_cast<unsigned>(s + 1) / static_cast<unsigned>(num_servers_));
  return {begin, end};
}

int RangePartition::ServerOf(Key k) const {
  // Largest s with RangeOf(s).begin <= k; the estimate is exact or one off.
  auto s = static_cast<int>(static_cast<U128>(k) * static_cast<unsigned>(num_servers_) /
                            num_keys_);
  s = std::clamp(s, 0, num_servers_ - 1);
  while (s > 0 && RangeOf(s).begin > k) --s;
  while (s + 1 < num_servers_ && RangeOf(s + 1).begin <= k) ++s;
  return s;
}

std::vector<std::size_t> RangePartition::Split(std::span<const Key> sorted_keys) const {
  std::vector<std::size_t> b(static_cast<std::size_t>(num_servers_) + 1, 0);
  for (int s = 1; s < num_servers_; ++s) {
    Key begin = RangeOf(s).begin;
    b[static_cast<std::size_t>(s)] = static_cast<std::size_t>(
        std::lower_bound(sorted_keys.begin(), sorted_keys.end(), begin) - sorted_keys.begin());
  }
  b.back() = sorted_keys.size();
  return b;
}

bool SortedUnique(std::span<const Key> keys) {
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (keys[i] <= keys[i - 1]) return false;
  }
  return true;
}

}  // namespace ecps::ps
