// A server shard for rule tests: 10 keys from key 100, width 2, values and rule state zero.
#pragma once

#include <algorithm>
#include <vector>

#include "ps/rules.h"

namespace ecps::testing {

struct ShardRows {
  std::vector<double> values = std::vector<double>(20, 0.0);
  std::vector<double> state;
  /// The rows of `keys` (sorted, in [100, 110)), with `state_width` state values per row.
  ps::RowSpan<double> Rows(const std::vector<ps::Key>& keys, std::size_t state_width) {
    state.resize(20 * std::max<std::size_t>(1, state_width), 0.0);
    return ps::RowSpan<double>{values.data(), state.data(), 2, state_width, 100, keys.data(), 0, keys.size()};
  }
};

}  // namespace ecps::testing
