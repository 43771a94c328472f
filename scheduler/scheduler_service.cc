#include "scheduler/scheduler_service.h"

#include "ps/collective.h"

namespace ecps::sched {

using ps::BarrierGroup;
using ps::Message;
using ps::MsgType;
using ps::Rank;
using ps::Role;

SchedulerService::SchedulerService(ps::Node& node)
    : node_(node),
      detector_(node.roles(), ps::NonSchedulerRanks(node.roles()), node.options().heartbeat_timeout_s,
                [&node](Rank r) { return node.SecondsSinceHeard(r); },
                "; the process died or its host is unreachable") {
  node_.SetHandler(ps::Service::kScheduler, [this](Message&& m) { OnBarrier(m); });
  node_.AddTicker([this] { Monitor(); });
}

int SchedulerService::GroupSize(BarrierGroup g) const {
  return g == BarrierGroup::kWorkers ? node_.roles().num_workers() : node_.roles().size();
}

void SchedulerService::OnBarrier(const Message& m) {
  auto g = static_cast<BarrierGroup>(m.head.topic);
  auto key = std::make_pair(m.head.topic, m.head.request);
  if (++arrivals_[key] < GroupSize(g)) return;
  arrivals_.erase(key);
  for (Rank r = 0; r < node_.roles().size(); ++r) {
    if (g == BarrierGroup::kWorkers && node_.roles().RoleOf(r) != Role::kWorker) continue;
    Message rel;
    rel.head.type = MsgType::kBarrierRelease;
    rel.head.receiver = r;
    rel.head.topic = m.head.topic;
    rel.head.request = m.head.request;
    (void)node_.Send(std::move(rel));  // a rank that cannot be reached is the monitor's business
  }
}

void SchedulerService::Monitor() {
  if (!node_.monitoring() || node_.aborted() || !node_.KeepingUp()) return;
  if (Status lost = detector_.FirstLost(); !lost.ok()) (void)node_.Abort(lost);
}

}  // namespace ecps::sched
