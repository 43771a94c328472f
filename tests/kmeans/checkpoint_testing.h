// What the k-means checkpoint tests share: data on which Lloyd takes many iterations (uniform
// users: ~180 slow-converging ones, ~0.1 s in all), the comparison of two runs' outputs, and a
// kill at the moment a checkpoint becomes valid. A killed run checkpoints every 2 iterations:
// the scheduler writes them one after another (10-20 ms each, synced), and the run cannot end
// before the last is written, so a kill after checkpoint 10 lands well before the end.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "tests/common/background.h"
#include "tests/common/run_ecps.h"
#include "tests/kmeans/kmeans_testing.h"

namespace ecps::kmtest {

/// `n` users with 3 features uniform in [0, 1) (4 decimals), ids "u<i>", from a fixed seed.
inline void WriteUniformUsers(const std::string& path, std::size_t n) {
  std::mt19937_64 rng(20261206);
  std::uniform_real_distribution<double> u(0, 1);
  std::string s = "user,a,b,c\n";
  char buf[96];
  for (std::size_t i = 0; i < n; ++i) {
    const double a = u(rng), b = u(rng), c = u(rng);
    std::snprintf(buf, sizeof buf, "u%zu,%.4f,%.4f,%.4f\n", i, a, b, c);
    s += buf;
  }
  WriteFile(path, s);
}

/// The train command (without --out, cluster or checkpoint options) on WriteUniformUsers data.
inline std::string UniformTrain(const std::string& data) {
  return fmt::format(
      "train kmeans --data {} --id-column user --features a,b,c --k 40 --seed 7 "
      "--tol 0 --max-iter 1000 --threads 1 --quiet",
      data);
}

/// Writes 100000 WriteUniformUsers users to DIR/users.csv and runs the uninterrupted model
/// into DIR/full (--local, 2 workers); returns the UniformTrain command for them.
inline std::string UniformDataAndFullRun(const TempDir& dir) {
  WriteUniformUsers(dir / "users.csv", 100000);
  const std::string train = UniformTrain(dir / "users.csv");
  const auto full = testing::RunEcps(train + " --local --workers 2 --out " + (dir / "full"));
  EXPECT_EQ(full.exit_code, 0) << full.err;
  return train;
}

/// metrics.jsonl without its timing field ("seconds"), one object per line.
inline std::string JsonlWithoutTimes(const std::string& path) {
  std::string out, line;
  std::istringstream in(ReadFile(path));
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    j.erase("seconds");
    out += j.dump() + "\n";
  }
  return out;
}

/// The outputs that must be the same bytes: model.bin, assignments.csv, profiles.csv,
/// profiles.json, metrics.jsonl without timings, and metrics.json's model figures.
inline void ExpectSameModel(const std::string& expected, const std::string& actual) {
  for (const char* f : {"model.bin", "assignments.csv", "profiles.csv", "profiles.json"}) {
    const std::string e = ReadFile(expected + "/" + f);
    EXPECT_FALSE(e.empty()) << f;
    EXPECT_TRUE(e == ReadFile(actual + "/" + f)) << f << " differs";
  }
  EXPECT_EQ(JsonlWithoutTimes(expected + "/metrics.jsonl"),
            JsonlWithoutTimes(actual + "/metrics.jsonl"));
  const auto e = nlohmann::json::parse(ReadFile(expected + "/metrics.json"));
  const auto a = nlohmann::json::parse(ReadFile(actual + "/metrics.json"));
  for (const char* key : {"inertia", "iterations", "converged", "stop_reason", "silhouette",
                          "davies_bouldin", "sizes", "users"}) {
    EXPECT_EQ(e[key], a[key]) << key;
  }
}

/// Waits (up to 120 s, polling every millisecond) for checkpoint `clock` of `dir` to become
/// valid (its MANIFEST appears by a rename), then sends SIGKILL to `pid`. False when the
/// manifest never appeared or `run` ended first.
inline bool KillAtCheckpoint(testing::Background& run, const std::string& dir, int clock,
                             pid_t pid, int signo = SIGKILL) {
  const std::string manifest = fmt::format("{}/clock-{}/MANIFEST", dir, clock);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < until) {
    if (fs::exists(manifest)) return kill(pid, signo) == 0;
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(run.pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == run.pid()) {
      return false;  // ended first (not reaped: the caller's Wait still sees it)
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace ecps::kmtest
