// Helpers of the k-means tests: seeded synthetic users written as CSV, an in-process run of
// the job, and small readers of its outputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "models/kmeans/kmeans.h"
#include "scheduler/local_cluster.h"
#include "tests/common/quiet_cluster.h"

namespace ecps::kmtest {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = fs::temp_directory_path() / fmt::format("ecps-kmeans-{}-{}", name, ::getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& f) const { return (path_ / f).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Users around `k` planted centres in `d` dimensions (uniform in [0, 100)), with Gaussian
/// noise `sigma`; ids "u<i>". Returns the planted cluster of each row.
struct Planted {
  std::vector<std::vector<double>> x;
  std::vector<int> cluster;
  std::vector<std::vector<double>> centres;
};

inline Planted MakePlanted(std::size_t n, std::size_t d, std::size_t k, double sigma, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 100);
  std::normal_distribution<double> g(0, sigma);
  Planted p;
  p.centres.assign(k, std::vector<double>(d));
  for (auto& c : p.centres) {
    for (auto& v : c) v = u(rng);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<int>(rng() % k);
    std::vector<double> row(d);
    for (std::size_t f = 0; f < d; ++f) row[f] = p.centres[static_cast<std::size_t>(c)][f] + g(rng);
    p.x.push_back(row);
    p.cluster.push_back(c);
  }
  return p;
}

inline std::vector<std::string> FeatureNames(std::size_t d) {
  std::vector<std::string> n;
  for (std::size_t f = 0; f < d; ++f) n.push_back(fmt::format("f{}", f));
  return n;
}

/// Writes `p` as CSV (header "user,f0,f1,..."), with `eol` line endings.
inline void WritePlanted(const std::string& path, const Planted& p, const std::string& eol = "\n") {
  std::string s = "user";
  const std::size_t d = p.x.empty() ? 0 : p.x[0].size();
  for (const auto& n : FeatureNames(d)) s += "," + n;
  s += eol;
  for (std::size_t i = 0; i < p.x.size(); ++i) {
    s += fmt::format("u{}", i);
    for (double v : p.x[i]) s += fmt::format(",{}", v);
    s += eol;
  }
  WriteFile(path, s);
}

inline models::kmeans::KMeansOptions Options(const std::string& data, const std::string& out, std::size_t d,
                                            std::uint64_t k) {
  models::kmeans::KMeansOptions o;
  o.data = data;
  o.out = out;
  o.columns.id_column = "user";
  o.columns.features = FeatureNames(d);
  o.k = k;
  o.quiet = true;
  o.silhouette_sample = 500;
  return o;
}

struct RunResult {
  Status status;
  models::kmeans::KMeansResult result;
};

/// Runs the job in-process with `servers` and `workers` (threads); returns the first
/// failure (the scheduler's, else any rank's) and the scheduler's result.
inline RunResult RunJob(const models::kmeans::KMeansOptions& o, int servers, int workers) {
  RunResult r;
  auto schema = models::kmeans::PrepareKMeans(o);
  if (!schema.ok()) {
    r.status = schema.status();
    return r;
  }
  const sched::LocalClusterOptions lo = testing::QuietCluster();
  std::shared_ptr<models::kmeans::KMeansJob> scheduler;
  auto results = sched::RunLocalEach(*ps::RoleTable::Make(servers, workers), lo, [&](ps::Rank rank) {
    auto j = std::make_shared<models::kmeans::KMeansJob>(o, *schema);
    if (rank == 0) scheduler = j;
    return j;
  });
  for (const auto& s : results) {
    if (!s.ok()) {
      r.status = s;
      break;
    }
  }
  if (r.status.ok()) r.result = scheduler->result();
  return r;
}

/// assignments.csv as id -> (cluster, distance).
inline std::map<std::string, std::pair<int, double>> ReadAssignments(const std::string& path) {
  std::map<std::string, std::pair<int, double>> m;
  std::istringstream in(ReadFile(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, c, dist;
    std::getline(f, id, ',');
    std::getline(f, c, ',');
    std::getline(f, dist, ',');
    m[id] = {std::stoi(c), std::stod(dist)};
  }
  return m;
}

/// Adjusted Rand index of two labelings (Hubert & Arabie 1985).
inline double AdjustedRand(const std::vector<int>& a, const std::vector<int>& b) {
  std::map<std::pair<int, int>, double> nij;
  std::map<int, double> ai, bj;
  for (std::size_t i = 0; i < a.size(); ++i) {
    nij[{a[i], b[i]}] += 1;
    ai[a[i]] += 1;
    bj[b[i]] += 1;
  }
  auto c2 = [](double x) { return x * (x - 1) / 2; };
  double index = 0, sa = 0, sb = 0;
  for (const auto& [key, v] : nij) index += c2(v);
  for (const auto& [key, v] : ai) sa += c2(v);
  for (const auto& [key, v] : bj) sb += c2(v);
  const double expected = sa * sb / c2(static_cast<double>(a.size()));
  return (index - expected) / (0.5 * (sa + sb) - expected);
}

}  // namespace ecps::kmtest
