// The job's traffic: every rank's transport counts (ps/traffic.h) gathered at the scheduler
// after the work phase, and their summary for a model's metrics.json.
#pragma once

#include <nlohmann/json.hpp>

#include "ps/node.h"

namespace ecps::sched {

/// Every rank sends its counts so far to the scheduler, which keeps them, its own included,
/// in Node::job_traffic(). Called by RunNode right after the end-of-work barrier, so the
/// counts cover the job from its start to the end of its work phase.
Status GatherTraffic(ps::Node& node, ps::Deadline deadline);

/// The "transport" object of metrics.json from node.job_traffic() (scheduler, after the work
/// phase): bytes and messages sent by kind, sent and received per role and per rank, and kv
/// bytes per clock (summed over ranks: clocks, min, median, max), rows named by push and pull
/// requests (kv_rows). Null before the gather.
nlohmann::json TrafficJson(const ps::Node& node);
/// The same with the counts of `earlier` jobs on the same ranks (a command that runs a job
/// before this one, e.g. CF's ingest; gathered from node.job_traffic() after its work phase)
/// added rank by rank.
nlohmann::json TrafficJson(const ps::Node& node, const std::vector<ps::RankTraffic>& earlier);

}  // namespace ecps::sched
