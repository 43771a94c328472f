// Parameter-server scenarios shared by the in-process cluster tests and the mpirun tests:
// the same job bodies run over both transports.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/job.h"

namespace ecps::testing {

/// A clocked table with a custom finalizer: workers push (sum, count) pairs; the finalizer
/// publishes the mean. Workers verify every clock's means exactly.
class MeanFinalizerJob final : public sched::Job {
 public:
  explicit MeanFinalizerJob(int clocks) : clocks_(clocks) {}
  std::string name() const override { return "mean-finalizer"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Status RunWorker(sched::JobContext& ctx) override;

 private:
  int clocks_;
};

/// Misuses the client API in every way it must refuse (unsorted keys, keys out of range,
/// wrong value count, wrong value type, unknown table) and checks each error; the job
/// succeeds only when each misuse produced its error and the job went on.
class ApiErrorsJob final : public sched::Job {
 public:
  std::string name() const override { return "api-errors"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Status RunWorker(sched::JobContext& ctx) override;
};

/// Worker `failing_worker` fails with a data error at clock `at_clock`; the others keep
/// pushing and pulling under BSP (so they would wait forever without the abort).
class FailingWorkerJob final : public sched::Job {
 public:
  FailingWorkerJob(int failing_worker, int at_clock) : failing_(failing_worker), at_(at_clock) {}
  std::string name() const override { return "failing-worker"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Status RunWorker(sched::JobContext& ctx) override;

 private:
  int failing_;
  int at_;
};

/// Broadcast, gather and repeated barriers: the scheduler sends a value, each worker answers
/// with a function of it and its index, the scheduler checks every answer.
class CollectivesJob final : public sched::Job {
 public:
  std::string name() const override { return "collectives"; }
  std::vector<ps::TableSpec> Tables() const override { return {}; }
  Status SetupServer(ps::KVServer&) override { return Status::Ok(); }
  Status RunScheduler(sched::JobContext& ctx) override;
  Status RunWorker(sched::JobContext& ctx) override;
};

/// Runs forever-ish (until aborted): every worker pushes and pulls in a loop. Used by the
/// failure-detection tests, where some rank dies.
class EndlessJob final : public sched::Job {
 public:
  std::string name() const override { return "endless"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Status RunWorker(sched::JobContext& ctx) override;
};

}  // namespace ecps::testing
