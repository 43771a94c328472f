// What the CF checkpoint tests share: a training command whose similarity phase
// has many block tasks (20 blocks of 30 items or 200 users: 210 tasks, a
// checkpoint after every 5th, about 60 ms each with their syncs, so a run lasts
// seconds and a kill after checkpoint 56 lands mid-run), the comparison of two
// runs' outputs, and a kill at the moment a checkpoint becomes valid.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/cf/cf_data.h"
#include "tests/common/background.h"

namespace ecps::testing_cf {

/// The interaction file of the checkpoint tests (3000 users, 600 items, ~50k
/// rows).
inline std::string WriteCheckpointData(const fs::path& dir) {
  return WriteInteractions(dir / "interactions.csv", MakeInteractions(3000, 600, 30, 11), true);
}

/// `train <kind>` on `file` without --out, cluster or checkpoint options.
inline std::string CheckpointTrain(const std::string& kind, const std::string& file) {
  const bool items = kind == "itemcf";
  return fmt::format(
      "train {} --train {} --similarity {} --neighbors 10 -n 5 "
      "--split leave-last-out "
      "--block-size {} --threads 1 --quiet",
      kind, file, items ? "cosine" : "adjusted-cosine", items ? 30 : 150);
}

/// The binary running `train` (CheckpointTrain) with 2 workers into `out`, a checkpoint after
/// every 5th block task into `ckpt`.
inline std::string CheckpointedRun(const std::string& train, const std::string& out,
                                   const std::string& ckpt) {
  return fmt::format("{} {} --local --workers 2 --out {} --checkpoint-dir {} --checkpoint-every 5",
                     ECPS_BINARY, train, out, ckpt);
}

/// metrics.json without what may differ between an uninterrupted and a resumed
/// run.
inline nlohmann::json ModelMetrics(const fs::path& folder) {
  auto j = nlohmann::json::parse(Slurp(folder / "metrics.json"));
  for (const char* key : {"timings", "checkpoints", "roles", "cluster", "transport"}) j.erase(key);
  return j;
}

/// model.ecps, neighbors.csv, recommendations.csv and metrics.jsonl are the
/// same bytes, and metrics.json the same figures (timings, checkpoints, the bytes on the wire and the
/// cluster's shape aside).
inline void ExpectSameModel(const fs::path& expected, const fs::path& actual) {
  for (const char* f : {"model.ecps", "neighbors.csv", "recommendations.csv", "metrics.jsonl"}) {
    const std::string e = Slurp(expected / f);
    EXPECT_FALSE(e.empty()) << f;
    EXPECT_TRUE(e == Slurp(actual / f)) << f << " differs";
  }
  EXPECT_EQ(ModelMetrics(expected), ModelMetrics(actual));
}

/// `actual`, resumed with W workers from a checkpoint of two, against `two` (an uninterrupted
/// run with two workers) and `same` (one with W): the model, neighbour lists and
/// recommendations are the same bytes as both; the evaluation figures (metrics.jsonl,
/// metrics.json) those of `same`: each worker adds up its users' figures, so their last bits
/// depend on the number of workers, not on the resume.
inline void ExpectSameModelWithOtherWorkers(const std::string& two, const std::string& same,
                                     const std::string& actual) {
  for (const char* f : {"model.ecps", "neighbors.csv", "recommendations.csv"}) {
    EXPECT_TRUE(Slurp(fs::path(two) / f) == Slurp(fs::path(actual) / f)) << f << " differs";
  }
  ExpectSameModel(same, actual);
}

/// Waits (up to 120 s, polling every millisecond) for checkpoint `clock` of
/// `dir` to become valid, then sends `signo` (SIGKILL) to `pid`. False when it
/// never did or `run` ended first.
inline bool KillAtCheckpoint(testing::Background& run, const fs::path& dir, int clock, pid_t pid,
                             int signo = SIGKILL) {
  const fs::path manifest = dir / fmt::format("clock-{}/MANIFEST", clock);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < until) {
    if (fs::exists(manifest)) return kill(pid, signo) == 0;
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(run.pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == run.pid()) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace ecps::testing_cf
