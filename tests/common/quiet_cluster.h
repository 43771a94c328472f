// Single-node cluster options for tests: logs discarded, a generous default deadline.
#pragma once

#include <memory>

#include <spdlog/sinks/null_sink.h>

#include "scheduler/local_cluster.h"

namespace ecps::testing {

inline sched::LocalClusterOptions QuietCluster(int staleness = 0, double timeout_s = 60) {
  sched::LocalClusterOptions o;
  o.run.consistency = staleness < 0    ? ps::Consistency::Asp()
                      : staleness == 0 ? ps::Consistency::Bsp()
                                       : ps::Consistency::Ssp(staleness);
  o.node.default_timeout_s = timeout_s;
  o.sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  return o;
}

}  // namespace ecps::testing
