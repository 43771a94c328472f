// A planted low-rank implicit matrix for the MF tests: users in `groups` groups, each group
// with its own block of items; every user interacts with `per_user` distinct items of its
// group's block (and nothing else), in a seeded order.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>

#include "tests/cf/cf_data.h"

namespace ecps::testing_mf {

namespace fs = std::filesystem;
using testing_cf::Slurp;
using testing_cf::TempDir;

/// Group of user "u<k>" and of item "i<k>".
inline int UserGroup(int u, int groups) { return u % groups; }
inline int ItemGroup(int i, int items_per_group) { return i / items_per_group; }

/// Writes `user,item,timestamp` rows (header) and returns the path.
inline std::string WritePlanted(const fs::path& path, int users, int groups, int items_per_group,
                                int per_user, unsigned seed) {
  std::mt19937 rng(seed);
  std::ofstream f(path);
  f << "user,item,timestamp\n";
  for (int u = 0; u < users; ++u) {
    const int g = UserGroup(u, groups);
    std::vector<int> block(static_cast<std::size_t>(items_per_group));
    for (int k = 0; k < items_per_group; ++k) block[static_cast<std::size_t>(k)] = g * items_per_group + k;
    std::shuffle(block.begin(), block.end(), rng);
    for (int t = 0; t < per_user; ++t) {
      f << "u" << u << ",i" << block[static_cast<std::size_t>(t)] << "," << t << "\n";
    }
  }
  return path.string();
}

}  // namespace ecps::testing_mf
