// pscheck: a self-checking parameter-server job. Workers push known integer values through
// the three kinds of table (sparse sum, dense assign, clocked aggregation) for a number of
// clocks and verify every value they pull against the exact expected sums, including the
// consistency bound (a worker at clock c sees every update from clocks <= c-s-1).
//
// It is the demo that `ecps demo` runs and the body of the cluster tests, in-process and
// under mpirun.
#pragma once

#include <cstdint>
#include <vector>

#include <cereal/types/vector.hpp>

#include "scheduler/job.h"

namespace ecps::models {

struct PsCheckOptions {
  /// Keys of the sparse and dense tables.
  std::uint64_t keys = 100000;
  /// Clocks (rounds of push, clock, pull) per worker.
  int clocks = 5;
  /// Worker 0 sleeps this long before each Clock(), so that SSP has stragglers to bound.
  int slow_worker_ms = 0;
};

/// What each worker reports to the scheduler.
struct PsCheckReport {
  std::uint64_t values_checked = 0;
  /// Largest (my clock - clocks visible in a pull) seen: 0 under BSP, <= s under SSP(s).
  std::int64_t max_staleness_seen = 0;
  double push_seconds = 0;
  double pull_seconds = 0;
  template <class A>
  void serialize(A& ar) { ar(values_checked, max_staleness_seen, push_seconds, pull_seconds); }
};

class PsCheckJob final : public sched::Job {
 public:
  explicit PsCheckJob(PsCheckOptions options) : options_(options) {}

  std::string name() const override { return "pscheck"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;

  /// Scheduler only, after the run: every worker's report, in worker order.
  const std::vector<PsCheckReport>& reports() const { return reports_; }

 private:
  PsCheckOptions options_;
  std::vector<PsCheckReport> reports_;
};

}  // namespace ecps::models
