// Seeded interaction files for the CF cluster and mpirun tests.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ecps::testing_cf {

namespace fs = std::filesystem;

inline fs::path TempDir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("ecps_cf_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Interaction {
  std::string user, item;
  int rating = 0;
  long timestamp = 0;
};

/// Users with string ids ("user-17"), items "sku-0042" with a popularity skew and a few
/// item "clusters" users stay within (so neighbours are meaningful); integer ratings 1..5,
/// timestamps, some repeated (user, item) pairs, and lines shuffled (time order must come
/// from the timestamps).
inline std::vector<Interaction> MakeInteractions(int users, int items, int per_user, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Interaction> out;
  for (int u = 0; u < users; ++u) {
    const int cluster = static_cast<int>(rng() % 4);
    const int n = 2 + static_cast<int>(rng() % static_cast<unsigned>(per_user));
    for (int t = 0; t < n; ++t) {
      int item = static_cast<int>(rng() % static_cast<unsigned>(items / 4)) + cluster * (items / 4);
      if (rng() % 3 == 0) item = static_cast<int>(rng() % 10);  // popular head
      char buf[32];
      std::snprintf(buf, sizeof buf, "sku-%04d", item);
      out.push_back({"user-" + std::to_string(u), buf, 1 + static_cast<int>(rng() % 5), 1000L * t + u});
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

inline std::string WriteInteractions(const fs::path& path, const std::vector<Interaction>& rows, bool ratings) {
  std::ofstream f(path);
  f << (ratings ? "user_id,item_id,rating,timestamp\n" : "user_id,item_id,rating,timestamp\n");
  for (const auto& r : rows) f << r.user << "," << r.item << "," << r.rating << "," << r.timestamp << "\n";
  return path.string();
}

/// Each user's last item by timestamp (what leave-last-out holds out), for users with at
/// least `min_distinct` distinct items.
inline std::map<std::string, std::string> LastItems(const std::vector<Interaction>& rows, std::size_t min_distinct) {
  std::map<std::string, std::pair<long, std::string>> last;
  std::map<std::string, std::set<std::string>> distinct;
  for (const auto& r : rows) {
    distinct[r.user].insert(r.item);
    auto it = last.find(r.user);
    if (it == last.end() || r.timestamp > it->second.first) last[r.user] = {r.timestamp, r.item};
  }
  std::map<std::string, std::string> out;
  for (const auto& [u, p] : last) {
    if (distinct[u].size() >= min_distinct) out[u] = p.second;
  }
  return out;
}

}  // namespace ecps::testing_cf
