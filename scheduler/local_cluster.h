// Single-node mode: every rank of a job as a thread of this process, over the in-process
// transport. Used by `ecps ... --local` and by the in-process cluster tests.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include <spdlog/sinks/sink.h>

#include "ps/faulty_transport.h"
#include "ps/node.h"
#include "scheduler/job.h"

namespace ecps::sched {

struct LocalClusterOptions {
  ps::NodeOptions node;
  RunOptions run;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::shared_ptr<spdlog::sinks::sink> sink;  ///< default: stderr
  /// Failure injection per rank (tests).
  std::map<ps::Rank, ps::FaultPlan> faults;
};

/// Runs one job across 1 + S + W threads. Returns the scheduler's result, or the first
/// failure of any rank when the scheduler succeeded.
Status RunLocal(const ps::RoleTable& roles, const LocalClusterOptions& options, const JobFactory& make_job);

/// Like RunLocal, returning every rank's result (index = rank), for tests.
std::vector<Status> RunLocalEach(const ps::RoleTable& roles, const LocalClusterOptions& options,
                                 const JobFactory& make_job);

}  // namespace ecps::sched
