// Planted low-rank matrices for the MF tests. Implicit: users in `groups` groups, each group
// with its own block of items; every user interacts with `per_user` distinct items of its
// group's block (and nothing else), in a seeded order. Ratings: WritePlantedRatings.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

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

/// Writes `user,item,rating` rows (header) of a planted rank-`rank` rating matrix: rating =
/// 3 + p_u . q_i + noise, p and q with N(0, s^2) entries, s^4 = 1 / rank (so that p . q has
/// variance 1), noise N(0, noise^2); each user rates `per_user` distinct random items of
/// `items`. Ratings are written with 4 decimals.
inline std::string WritePlantedRatings(const fs::path& path, int users, int items, int rank,
                                       int per_user, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  const double s = std::pow(1.0 / rank, 0.25);
  std::normal_distribution<double> factor(0.0, s), eps(0.0, noise);
  std::vector<double> p(static_cast<std::size_t>(users * rank)), q(static_cast<std::size_t>(items * rank));
  for (auto& v : p) v = factor(rng);
  for (auto& v : q) v = factor(rng);
  std::ofstream f(path);
  f << "user,item,rating\n";
  std::vector<int> all(static_cast<std::size_t>(items));
  for (int i = 0; i < items; ++i) all[static_cast<std::size_t>(i)] = i;
  for (int u = 0; u < users; ++u) {
    std::shuffle(all.begin(), all.end(), rng);
    for (int t = 0; t < per_user; ++t) {
      const int i = all[static_cast<std::size_t>(t)];
      double r = 3.0 + eps(rng);
      for (int k = 0; k < rank; ++k) {
        r += p[static_cast<std::size_t>(u * rank + k)] * q[static_cast<std::size_t>(i * rank + k)];
      }
      f << "u" << u << ",i" << i << "," << fmt::format("{:.4f}", r) << "\n";
    }
  }
  return path.string();
}

}  // namespace ecps::testing_mf
