// The k-means job in-process (scheduler, servers and workers as threads): equivalence across
// worker counts, agreement with a brute-force Lloyd, initialisations, empty clusters, planted
// clusters and outliers, bad inputs end to end, sharding, and the segment command's model.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/kmeans/kernel.h"
#include "models/kmeans/model.h"
#include "ps/collective.h"
#include "tests/kmeans/kmeans_testing.h"
#include "worker/user_shard.h"

namespace ecps {
namespace {

using ::testing::HasSubstr;
using kmtest::Options;
using kmtest::RunJob;
using kmtest::TempDir;
using models::kmeans::InitMethod;
using models::kmeans::Normalize;
using models::kmeans::RiskScore;


TEST(KMeansCluster, OneTwoAndFourWorkersGiveIdenticalResults) {
  TempDir dir("workers");
  const auto p = kmtest::MakePlanted(3000, 4, 5, 8.0, 1);
  kmtest::WritePlanted(dir / "users.csv", p, "\r\n");
  for (const std::string init : {"kmeans++", "kmeans-parallel"}) {
    std::string reference_assign, reference_profiles;
    nlohmann::json reference;
    for (int w : {1, 2, 4}) {
      auto o = Options(dir / "users.csv", dir / fmt::format("out-{}", w), 4, 5);
      o.init = init == "kmeans++" ? InitMethod::kPlusPlus : InitMethod::kParallel;
      o.anomaly_scores = true;
      o.seed = 7;
      auto r = RunJob(o, w == 4 ? 2 : 1, w);
      ASSERT_TRUE(r.status.ok()) << init << " " << w << " workers: " << r.status.ToString();
      const auto assign = kmtest::ReadFile(dir / fmt::format("out-{}/assignments.csv", w));
      const auto profiles = kmtest::ReadFile(dir / fmt::format("out-{}/profiles.csv", w));
      if (w == 1) {
        reference_assign = assign;
        reference_profiles = profiles;
        reference = r.result.metrics;
        continue;
      }
      // Exact sums and split-independent random choices: the same bits, not just close.
      EXPECT_EQ(assign, reference_assign) << init << ", " << w << " workers";
      EXPECT_EQ(profiles, reference_profiles) << init << ", " << w << " workers";
      for (const char* key : {"inertia", "iterations", "silhouette", "davies_bouldin"}) {
        EXPECT_EQ(r.result.metrics[key], reference[key]) << key << ", " << init << ", " << w << " workers";
      }
      EXPECT_EQ(r.result.metrics["anomaly"]["threshold"], reference["anomaly"]["threshold"]);
    }
  }
}

// Plain Lloyd on the same normalised points: assign by direct squared distance, average.
std::vector<double> BruteLloyd(const std::vector<double>& x, std::size_t d, std::vector<double> c, int iters,
                               std::vector<int>* labels) {
  const std::size_t n = x.size() / d, k = c.size() / d;
  labels->assign(n, 0);
  for (int it = 0; it < iters; ++it) {
    for (std::size_t i = 0; i < n; ++i) {
      double best = INFINITY;
      for (std::size_t j = 0; j < k; ++j) {
        double s = 0;
        for (std::size_t f = 0; f < d; ++f) s += (x[i * d + f] - c[j * d + f]) * (x[i * d + f] - c[j * d + f]);
        if (s < best) {
          best = s;
          (*labels)[i] = static_cast<int>(j);
        }
      }
    }
    std::vector<double> sum(k * d, 0.0), cnt(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t f = 0; f < d; ++f) sum[static_cast<std::size_t>((*labels)[i]) * d + f] += x[i * d + f];
      cnt[static_cast<std::size_t>((*labels)[i])] += 1;
    }
    for (std::size_t j = 0; j < k; ++j) {
      for (std::size_t f = 0; f < d; ++f) c[j * d + f] = sum[j * d + f] / cnt[j];
    }
  }
  return c;
}

TEST(KMeansCluster, AgreesWithBruteForceLloydFromTheSameStart) {
  TempDir dir("brute");
  const std::size_t d = 3, k = 4;
  const auto p = kmtest::MakePlanted(800, d, k, 15.0, 2);  // overlapping: several iterations
  kmtest::WritePlanted(dir / "users.csv", p);
  std::string init = "f0,f1,f2\n";
  std::vector<double> start;
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t f = 0; f < d; ++f) {
      start.push_back(p.x[j * 37][f]);
      init += fmt::format("{}{}", f ? "," : "", p.x[j * 37][f]);
    }
    init += "\n";
  }
  kmtest::WriteFile(dir / "init.csv", init);
  for (int iters : {1, 3, 6}) {
    auto o = Options(dir / "users.csv", dir / "out", d, k);
    o.normalize = Normalize::kNone;
    o.init = InitMethod::kFile;
  o.init_file = dir / "init.csv";
    o.max_iter = iters;
    o.tol = 0;
    auto r = RunJob(o, 2, 3);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    std::vector<double> x;
    for (const auto& row : p.x) x.insert(x.end(), row.begin(), row.end());
    std::vector<int> labels;
    const auto expect = BruteLloyd(x, d, start, r.result.metrics["iterations"].get<int>(), &labels);
    const auto& got = r.result.model.centroids;
    ASSERT_EQ(got.size(), expect.size());
    for (std::size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], expect[j], 1e-9) << "iters " << iters;
    // Final labels: brute force with the final centroids.
    std::vector<int> final_labels;
    BruteLloyd(x, d, got, 1, &final_labels);
    const auto assign = kmtest::ReadAssignments(dir / "out/assignments.csv");
    double inertia = 0;
    for (std::size_t i = 0; i < p.x.size(); ++i) {
      const auto& [cl, dist] = assign.at(fmt::format("u{}", i));
      EXPECT_EQ(cl, final_labels[i]) << "user " << i;
      inertia += dist * dist;
    }
    EXPECT_NEAR(r.result.metrics["inertia"].get<double>(), inertia, 1e-9 * inertia);
  }
}

// The Lloyd loop's two ways to label users (the float32 screen with exact fallback, and the
// float64 kernel alone) give the same bits; and its per-worker sums, updated only for users
// that change cluster (or recomputed when many do), agree with a plain Lloyd's centroids.
TEST(KMeansCluster, ScreenAndFloat64KernelAgreeAndIncrementalSumsStayExact) {
  TempDir dir("screen");
  const std::size_t n = 30000, d = 5, k = 8;
  const auto p = kmtest::MakePlanted(n, d, k, 22.0, 9);  // overlapping: many slow iterations
  kmtest::WritePlanted(dir / "users.csv", p);
  auto iteration_lines = [&](const std::string& out) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(kmtest::ReadFile(dir / (out + "/metrics.jsonl")));
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (!j.contains("iteration")) continue;
      j.erase("seconds");
      lines.push_back(j);
    }
    return lines;
  };
  auto run = [&](models::kmeans::KernelKind kind, int workers, const std::string& out) {
    auto o = Options(dir / "users.csv", dir / out, d, k);
    o.normalize = Normalize::kNone;
    o.seed = 3;
    o.max_iter = 60;
    o.tol = 0;
    o.kernel = kind;
    return RunJob(o, 1, workers);
  };
  const auto screen = run(models::kmeans::KernelKind::kAuto, 2, "screen");
  ASSERT_TRUE(screen.status.ok()) << screen.status.ToString();
  const auto plain = run(models::kmeans::KernelKind::kAvx2, 1, "plain");
  ASSERT_TRUE(plain.status.ok()) << plain.status.ToString();
  EXPECT_EQ(kmtest::ReadFile(dir / "screen/assignments.csv"), kmtest::ReadFile(dir / "plain/assignments.csv"));
  EXPECT_EQ(kmtest::ReadFile(dir / "screen/profiles.csv"), kmtest::ReadFile(dir / "plain/profiles.csv"));
  EXPECT_EQ(screen.result.metrics["inertia"], plain.result.metrics["inertia"]);
  const auto a = iteration_lines("screen"), b = iteration_lines("plain");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "iteration " << i + 1;
  // The run must have had iterations where few users moved (one-by-one updates) after ones
  // where many did (whole recomputation), or it would not test them.
  std::size_t few = 0, many = 0;
  for (std::size_t i = 1; i < a.size(); ++i) {
    const auto changed = a[i]["changed"].get<std::size_t>();
    few += changed > 0 && changed * 100 < n;
    many += changed * 10 > n;
  }
  EXPECT_GT(few, 0u);
  EXPECT_GT(many, 0u);
  // Against a plain Lloyd from the same start, iteration by iteration: the inertia of each
  // assignment (which ecps computes from per-cluster sums of ||x - o||^2), then the centroids.
  std::vector<double> x;
  for (const auto& row : p.x) x.insert(x.end(), row.begin(), row.end());
  std::vector<double> c = screen.result.initial_centroids;
  for (std::size_t it = 0; it < a.size(); ++it) {
    std::vector<int> labels;
    const auto next = BruteLloyd(x, d, c, 1, &labels);
    double inertia = 0;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t f = 0; f < d; ++f) {
        const double t = x[i * d + f] - c[static_cast<std::size_t>(labels[i]) * d + f];
        inertia += t * t;
      }
    }
    EXPECT_NEAR(a[it]["inertia"].get<double>(), inertia, 1e-9 * inertia) << "iteration " << it + 1;
    c = next;
  }
  const auto& got = screen.result.model.centroids;
  ASSERT_EQ(got.size(), c.size());
  for (std::size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], c[j], 1e-9 * (1 + std::abs(c[j])));
}

TEST(KMeansCluster, InitialisationsAreReproducibleAndSeeded) {
  TempDir dir("init");
  const auto p = kmtest::MakePlanted(2000, 3, 6, 5.0, 3);
  kmtest::WritePlanted(dir / "users.csv", p);
  std::set<std::vector<double>> points(p.x.begin(), p.x.end());
  for (const std::string init : {"kmeans++", "kmeans-parallel"}) {
    auto o = Options(dir / "users.csv", dir / "out", 3, 6);
    o.normalize = Normalize::kNone;
    o.init = init == "kmeans++" ? InitMethod::kPlusPlus : InitMethod::kParallel;
    o.max_iter = 1;
    o.seed = 11;
    auto a = RunJob(o, 1, 2);
    auto b = RunJob(o, 1, 3);
    o.seed = 12;
    auto c = RunJob(o, 1, 2);
    ASSERT_TRUE(a.status.ok() && b.status.ok() && c.status.ok()) << a.status.ToString();
    EXPECT_EQ(a.result.initial_centroids, b.result.initial_centroids) << init << ": same seed, 2 vs 3 workers";
    EXPECT_NE(a.result.initial_centroids, c.result.initial_centroids) << init << ": another seed";
    if (init == "kmeans++") {
      // D^2 sampling picks users: every initial centroid is one of the input rows.
      for (std::size_t j = 0; j < 6; ++j) {
        std::vector<double> row(a.result.initial_centroids.begin() + static_cast<std::ptrdiff_t>(j * 3),
                                a.result.initial_centroids.begin() + static_cast<std::ptrdiff_t>(j * 3 + 3));
        const bool near = std::any_of(points.begin(), points.end(), [&](const auto& q) {
          return std::abs(q[0] - row[0]) < 1e-9 && std::abs(q[1] - row[1]) < 1e-9 && std::abs(q[2] - row[2]) < 1e-9;
        });
        EXPECT_TRUE(near) << "centroid " << j;
      }
    } else {
      EXPECT_GT(a.result.metrics["init_candidates"].get<int>(), 6) << "k-means|| oversamples";
    }
  }
}

// Beyond 8192 users seeding reads a uniform sample chosen per user from (seed, id): the
// same sample, centroids and outputs for any number of workers. The sample's size is
// Binomial(40000, p = 8192/40000): sd = sqrt(40000 p (1 - p)) = 80.7, so 5 sd = 404.
TEST(KMeansCluster, SeedingOnASampleIsTheSameForAnyWorkerCount) {
  TempDir dir("seed-sample");
  const auto p = kmtest::MakePlanted(40000, 3, 6, 5.0, 21);
  kmtest::WritePlanted(dir / "users.csv", p);
  std::set<std::vector<double>> points(p.x.begin(), p.x.end());
  for (const std::string init : {"kmeans++", "kmeans-parallel"}) {
    auto o = Options(dir / "users.csv", dir / "out1", 3, 6);
    o.normalize = Normalize::kNone;
    o.init = init == "kmeans++" ? InitMethod::kPlusPlus : InitMethod::kParallel;
    o.max_iter = 3;
    o.seed = 5;
    auto a = RunJob(o, 1, 1);
    o.out = dir / "out2";
    auto b = RunJob(o, 1, 2);
    ASSERT_TRUE(a.status.ok() && b.status.ok()) << a.status.ToString() << b.status.ToString();
    EXPECT_EQ(a.result.initial_centroids, b.result.initial_centroids) << init;
    EXPECT_EQ(kmtest::ReadFile(dir / "out1/assignments.csv"), kmtest::ReadFile(dir / "out2/assignments.csv"))
        << init;
    const auto sample = a.result.metrics["init_sample"].get<double>();
    EXPECT_EQ(sample, b.result.metrics["init_sample"].get<double>());
    EXPECT_NEAR(sample, 8192, 404) << init;
    if (init == "kmeans++") {
      for (std::size_t j = 0; j < 6; ++j) {  // every initial centroid is an input row
        const auto* c = a.result.initial_centroids.data() + j * 3;
        const bool near = std::any_of(points.begin(), points.end(), [&](const auto& q) {
          return std::abs(q[0] - c[0]) < 1e-9 && std::abs(q[1] - c[1]) < 1e-9 && std::abs(q[2] - c[2]) < 1e-9;
        });
        EXPECT_TRUE(near) << "centroid " << j;
      }
    }
  }
  // A job within the sample size seeds from every user.
  auto o = Options(dir / "users.csv", dir / "out3", 3, 6);
  o.max_iter = 1;
  auto small = kmtest::MakePlanted(3000, 3, 6, 5.0, 22);
  kmtest::WritePlanted(dir / "small.csv", small);
  o.data = dir / "small.csv";
  auto c = RunJob(o, 1, 2);
  ASSERT_TRUE(c.status.ok()) << c.status.ToString();
  EXPECT_EQ(c.result.metrics["init_sample"].get<int>(), 3000);
}

TEST(KMeansCluster, PlantedSeparableClustersAreRecovered) {
  TempDir dir("planted");
  const auto p = kmtest::MakePlanted(5000, 5, 8, 2.0, 4);
  kmtest::WritePlanted(dir / "users.csv", p);
  for (const std::string init : {"kmeans++", "kmeans-parallel"}) {
    auto o = Options(dir / "users.csv", dir / "out", 5, 8);
    o.init = init == "kmeans++" ? InitMethod::kPlusPlus : InitMethod::kParallel;
    auto r = RunJob(o, 1, 2);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    const auto assign = kmtest::ReadAssignments(dir / "out/assignments.csv");
    std::vector<int> got;
    for (std::size_t i = 0; i < p.x.size(); ++i) got.push_back(assign.at(fmt::format("u{}", i)).first);
    EXPECT_GE(kmtest::AdjustedRand(p.cluster, got), 0.95) << init;
    EXPECT_TRUE(r.result.metrics["converged"].get<bool>());
    EXPECT_GT(r.result.metrics["silhouette"].get<double>(), 0.5);
    EXPECT_EQ(r.result.metrics["silhouette_sample"].get<std::uint64_t>(), 500u);  // of 5000
    EXPECT_EQ(r.result.metrics["silhouette_seed"].get<std::uint64_t>(), o.seed);
  }
}

TEST(KMeansCluster, EmptyClustersAreReseededWithTheFarthestUsers) {
  TempDir dir("empty");
  const auto p = kmtest::MakePlanted(1500, 2, 3, 3.0, 5);
  kmtest::WritePlanted(dir / "users.csv", p);
  // Two centroids far from every user: nobody is assigned to them in the first iteration.
  kmtest::WriteFile(dir / "init.csv",
                    fmt::format("f0,f1\n{},{}\n1e6,1e6\n-1e6,-1e6\n", p.x[0][0], p.x[0][1]));
  std::string first;
  for (int w : {1, 3}) {
    auto o = Options(dir / "users.csv", dir / "out", 2, 3);
    o.normalize = Normalize::kNone;
    o.init = InitMethod::kFile;
  o.init_file = dir / "init.csv";
    auto r = RunJob(o, 1, w);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    const auto lines = kmtest::ReadFile(dir / "out/metrics.jsonl");
    const auto line1 = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
    EXPECT_EQ(line1["relocated"].get<int>(), 2) << "both empty clusters re-seeded in iteration 1";
    for (auto s : r.result.model.sizes) EXPECT_GT(s, 0u);
    for (double v : r.result.model.centroids) EXPECT_LT(std::abs(v), 200.0);
    const auto assign = kmtest::ReadFile(dir / "out/assignments.csv");
    if (w == 1) first = assign;
    EXPECT_EQ(assign, first) << "deterministic re-seeding";
  }
}

TEST(KMeansCluster, PlantedOutliersGetTheHighestRiskScores) {
  TempDir dir("outliers");
  auto p = kmtest::MakePlanted(2000, 3, 4, 2.0, 6);
  // 20 outliers (1%) far from every cluster, spread in all directions.
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> u(-1, 1);
  std::set<std::string> outliers;
  for (int i = 0; i < 20; ++i) {
    std::vector<double> row = p.centres[static_cast<std::size_t>(i % 4)];
    for (auto& v : row) v += 40 * (u(rng) > 0 ? 1 : -1) + 5 * u(rng);
    outliers.insert(fmt::format("u{}", p.x.size()));
    p.x.push_back(row);
    p.cluster.push_back(-1);
  }
  kmtest::WritePlanted(dir / "users.csv", p);
  // Start from the planted centres: this tests the ranking, not whether an initialisation
  // gets pulled towards far points.
  std::string init = "f0,f1,f2\n";
  for (const auto& c : p.centres) init += fmt::format("{},{},{}\n", c[0] + 1, c[1] - 1, c[2]);
  kmtest::WriteFile(dir / "init.csv", init);
  for (const std::string score : {"relative", "distance"}) {
    auto o = Options(dir / "users.csv", dir / "out", 3, 4);
    o.normalize = Normalize::kZScore;
    o.init = InitMethod::kFile;
  o.init_file = dir / "init.csv";
    o.anomaly_scores = true;
    o.anomaly_rate = 20.0 / static_cast<double>(p.x.size());
    o.score = score == "relative" ? RiskScore::kRelative : RiskScore::kDistance;
    auto r = RunJob(o, 1, 2);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    std::set<std::string> flagged;
    std::istringstream in(kmtest::ReadFile(dir / "out/assignments.csv"));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "id,cluster,distance,score,anomaly");
    while (std::getline(in, line)) {
      if (line.back() == '1') flagged.insert(line.substr(0, line.find(',')));
    }
    EXPECT_EQ(flagged.size(), 20u);
    std::size_t hits = 0;
    for (const auto& id : flagged) hits += outliers.count(id);
    EXPECT_GE(hits, 19u) << score << ": planted outliers among the flagged";
  }
}

TEST(KMeansCluster, BadInputsFailWithFileLineAndColumn) {
  TempDir dir("bad");
  const std::string header = "user,f0,f1\n";
  struct Bad {
    std::string body, message;
  };
  std::vector<Bad> cases = {
      {"u1,1,2\nu2,x,3\n", "users.csv:3: column \"f0\": \"x\" is not a finite number"},
      {"u1,1,2\nu2,1,\n", "users.csv:3: column \"f1\": missing value"},
      {"u1,1,2\nu2,1\n", "users.csv:3: expected 3 fields (as in the header), found 2"},
      {"u1,1,2\nu1,3,4\n", "user id \"u1\" appears on more than one row (lines 2 and 3)"},
      {"u1,1,2\nu2,1,1\nu3,0,0\nu2,3,4\nu2,5,5\n",
       "user id \"u2\" appears on more than one row (lines 3 and 5)"},
      {"u1,1,2\n,3,4\n", "users.csv:3: column \"user\": empty user id"},
      {"u1,1,2\nu2,\"3,4\n", "users.csv:3: field 2: unterminated quote"},
      {"u1,inf,2\n", "users.csv:2: column \"f0\": \"inf\" is not a finite number"},
  };
  std::string many;  // 3000 users, u1234 again on line 2902: found among the candidates
  for (int i = 0; i < 3000; ++i) many += fmt::format("u{},{},{}\n", i == 2900 ? 1234 : i, i % 7, i % 11);
  cases.push_back({many, "user id \"u1234\" appears on more than one row (lines 1236 and 2902)"});
  for (const auto& c : cases) {
    kmtest::WriteFile(dir / "users.csv", header + c.body);
    auto r = RunJob(Options(dir / "users.csv", dir / "out", 2, 1), 1, 2);
    EXPECT_EQ(r.status.code(), StatusCode::kDataError) << c.body << " -> " << r.status.ToString();
    EXPECT_THAT(r.status.message(), HasSubstr(c.message)) << c.body;
  }
  // Header, option and init-file problems.
  kmtest::WriteFile(dir / "users.csv", "user,f0\nu1,1\n");
  auto r = RunJob(Options(dir / "users.csv", dir / "out", 2, 1), 1, 1);
  EXPECT_THAT(r.status.message(), HasSubstr("no column \"f1\" in the header (columns: \"user\", \"f0\")"));
  kmtest::WriteFile(dir / "users.csv", header + "u1,1,2\nu2,3,4\n");
  r = RunJob(Options(dir / "users.csv", dir / "out", 2, 3), 1, 2);
  EXPECT_THAT(r.status.message(), HasSubstr("--k 3 exceeds the number of users (2)"));
  kmtest::WriteFile(dir / "empty.csv", "");
  r = RunJob(Options(dir / "empty.csv", dir / "out", 2, 1), 1, 1);
  EXPECT_THAT(r.status.message(), HasSubstr("empty.csv: the file is empty"));
  kmtest::WriteFile(dir / "header.csv", header);
  r = RunJob(Options(dir / "header.csv", dir / "out", 2, 1), 1, 1);
  EXPECT_THAT(r.status.message(), HasSubstr("header.csv: no users to cluster (no valid data rows)"));
  r = RunJob(Options(dir / "missing.csv", dir / "out", 2, 1), 1, 1);
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  auto o = Options(dir / "users.csv", dir / "out", 2, 2);
  o.init = InitMethod::kFile;
  o.init_file = dir / "init.csv";
  kmtest::WriteFile(dir / "init.csv", "f0,f1\n1,2\n");
  r = RunJob(o, 1, 1);
  EXPECT_THAT(r.status.message(), HasSubstr("init.csv: 1 centroids for --k 2"));
  kmtest::WriteFile(dir / "init.csv", "f0,f1\n1,2\n3,x\n");
  r = RunJob(o, 1, 1);
  EXPECT_THAT(r.status.message(), HasSubstr("init.csv:3: column \"f1\": \"x\" is not a finite number"));
  o.init_file = dir / "nope.csv";
  EXPECT_THAT(RunJob(o, 1, 1).status.message(), HasSubstr("not kmeans++ or kmeans-parallel, and no such file"));
  o = Options(dir / "users.csv", dir / "out", 2, 1);
  o.anomaly_rate = 1.5;
  EXPECT_THAT(RunJob(o, 1, 1).status.message(), HasSubstr("--anomaly-rate must be in (0, 1)"));
}

TEST(KMeansCluster, SkipBadRowsCountsThem) {
  TempDir dir("skip");
  kmtest::WriteFile(dir / "users.csv", "user,f0,f1\nu1,1,2\nu2,x,3\nu3,2,2\n\nu4,1,\nu5,5,5\n");
  auto o = Options(dir / "users.csv", dir / "out", 2, 2);
  o.skip_bad_rows = true;
  auto r = RunJob(o, 1, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.result.metrics["rows_skipped"].get<int>(), 2);
  EXPECT_EQ(r.result.metrics["users"].get<int>(), 3);
  EXPECT_THAT(r.result.metrics["skipped_examples"].dump(), HasSubstr("users.csv:3: column \\\"f0\\\""));
}

// A job that only loads the users and reports which ids each worker holds.
class ShardProbe final : public sched::Job {
 public:
  explicit ShardProbe(std::string path) : path_(std::move(path)) {
    worker::FeatureColumnsOptions c;
    c.id_column = "user";
    c.features = {"f0"};
    schema_ = *worker::FeatureSchema::Make(c);
  }
  std::string name() const override { return "shard-probe"; }
  std::vector<ps::TableSpec> Tables() const override { return {}; }
  Status SetupServer(ps::KVServer&) override { return Status::Ok(); }
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override {
    return sched::PlanFiles({path_}, roles.num_workers());
  }
  Status RunWorker(sched::JobContext& ctx) override {
    worker::ShardLoadOptions lo;
    lo.topic = 1299;
    lo.batch_rows = 7;  // many small batches
    worker::LoadReport rep;
    ECPS_ASSIGN_OR_RETURN(auto users, worker::LoadUserShard(ctx.node, ctx.plan, ctx.node.index(), schema_, lo, &rep));
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < users.size(); ++i) {
      ids.emplace_back(users.id(i));
      if (ctx.plan.UserOwner(users.id(i)) != ctx.node.index()) return Internal("user on the wrong worker");
      if (users.features[i] != std::stod(ids.back().substr(1))) return Internal("features moved with the wrong id");
    }
    if (!std::is_sorted(users.offsets.begin(), users.offsets.end())) return Internal("not in input order");
    return ps::Gather(ctx.node, 1298, ps::WorkerRanks(ctx.node.roles()), ids, ctx.node.DefaultDeadline()).status();
  }
  Status RunScheduler(sched::JobContext& ctx) override {
    ECPS_ASSIGN_OR_RETURN(held_, ps::Gather(ctx.node, 1298, ps::WorkerRanks(ctx.node.roles()),
                                            std::vector<std::string>{}, ctx.node.DefaultDeadline()));
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> held_;

 private:
  std::string path_;
  worker::FeatureSchema schema_;
};

TEST(KMeansCluster, EveryUserLandsOnExactlyOneWorker) {
  TempDir dir("shard");
  std::string csv = "user,f0\n";
  for (int i = 0; i < 997; ++i) csv += fmt::format("u{},{}\n", i, i);
  kmtest::WriteFile(dir / "users.csv", csv);
  for (int w : {1, 2, 3, 5}) {
    std::shared_ptr<ShardProbe> scheduler;
    sched::LocalClusterOptions lo;
    lo.sink = std::make_shared<spdlog::sinks::null_sink_mt>();
    auto results = sched::RunLocalEach(*ps::RoleTable::Make(1, w), lo, [&](ps::Rank r) {
      auto j = std::make_shared<ShardProbe>(dir / "users.csv");
      if (r == 0) scheduler = j;
      return j;
    });
    for (const auto& s : results) ASSERT_TRUE(s.ok()) << s.ToString();
    std::multiset<std::string> all;
    for (const auto& ids : scheduler->held_) all.insert(ids.begin(), ids.end());
    EXPECT_EQ(all.size(), 997u) << w << " workers";
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 997u) << "no user twice";
    if (w > 1) {
      for (const auto& ids : scheduler->held_) EXPECT_GT(ids.size(), 997u / w / 2) << "hashing spreads users";
    }
  }
}

TEST(KMeansCluster, SegmentAssignsLikeTrainingWithTheSavedModel) {
  TempDir dir("segment");
  const auto p = kmtest::MakePlanted(1200, 3, 4, 6.0, 9);
  kmtest::WritePlanted(dir / "users.csv", p);
  auto o = Options(dir / "users.csv", dir / "model", 3, 4);
  o.normalize = Normalize::kZScore;
  o.anomaly_scores = true;
  ASSERT_TRUE(RunJob(o, 1, 2).status.ok());
  models::kmeans::SegmentOptions so;
  so.model_dir = dir / "model";
  so.data = dir / "users.csv";
  so.out = dir / "segments.csv";
  auto rows = models::kmeans::Segment(so);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 1200u);
  // Training snaps coordinates to a fine grid (2^-50 of the range): distances agree closely,
  // clusters and flags exactly.
  const auto train = kmtest::ReadAssignments(dir / "model/assignments.csv");
  const auto seg = kmtest::ReadAssignments(dir / "segments.csv");
  ASSERT_EQ(train.size(), seg.size());
  for (const auto& [id, v] : train) {
    EXPECT_EQ(seg.at(id).first, v.first) << id;
    EXPECT_NEAR(seg.at(id).second, v.second, 1e-9) << id;
  }
  so.data = dir / "missing.csv";
  EXPECT_FALSE(models::kmeans::Segment(so).ok());
  so.model_dir = dir.path().string();
  EXPECT_THAT(models::kmeans::Segment(so).status().message(), HasSubstr("model.bin"));
}

}  // namespace
}  // namespace ecps
