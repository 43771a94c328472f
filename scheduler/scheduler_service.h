// The scheduler's services on rank 0: barriers for the whole job and failure detection.
//
// Barriers: counts arrivals per (group, sequence number) and releases the group when all
// members arrived. Failure detection: a rank not heard from for the heartbeat timeout is
// declared lost and the job is aborted with a message naming it, so every other rank stops
// instead of waiting forever.
#pragma once

#include <map>
#include <utility>

#include "ps/failure_detector.h"
#include "ps/node.h"

namespace ecps::sched {

class SchedulerService {
 public:
  /// Registers with `node` (rank 0); construct before node.Start().
  explicit SchedulerService(ps::Node& node);

 private:
  void OnBarrier(const ps::Message& m);
  void Monitor();
  int GroupSize(ps::BarrierGroup g) const;

  ps::Node& node_;
  ps::FailureDetector detector_;  // every other rank
  std::map<std::pair<std::uint32_t, std::uint64_t>, int> arrivals_;  // dispatcher thread only
};

}  // namespace ecps::sched
