// Progress of a CF step that the workers do (reading the interactions, recommending): each
// worker sends its running count now and then; the scheduler sums them into a
// sched::Progress (a bar on a terminal, a line per 10% otherwise, silent for a short step).
#pragma once

#include <cstdint>
#include <string>

#include "models/cf/cf_job.h"
#include "ps/node.h"
#include "ps/status.h"

namespace ecps::models::cf {

/// Worker side: cheap to call per unit; sends a message per `every` units at most.
class ProgressSender {
 public:
  ProgressSender(ps::Node& node, std::uint32_t topic, std::uint64_t every)
      : node_(node), topic_(topic), every_(every) {}
  /// `done` = this worker's units so far (non-decreasing).
  Status Update(std::uint64_t done);
  /// The final count; the scheduler's ShowWorkerProgress waits for one from every worker.
  Status Finish(std::uint64_t done);

 private:
  Status Send(std::uint64_t done, bool final);

  ps::Node& node_;
  std::uint32_t topic_;
  std::uint64_t every_;
  std::uint64_t sent_ = 0;
};

/// Scheduler side: shows "`label` done/total" from the workers' counts on `topic` until
/// every worker has called Finish. `total` = 0 when unknown. Silent with options.quiet or
/// for a step shorter than options.progress_after_s.
Status ShowWorkerProgress(ps::Node& node, std::uint32_t topic, const std::string& label,
                          std::uint64_t total, const CfOptions& options);

}  // namespace ecps::models::cf
