// Collectives over control messages: broadcast from the scheduler, gather at the scheduler,
// all-gather among a group of ranks.
// For small payloads (plans, metric partials, progress); bulk data goes through tables.
#pragma once

#include <vector>

#include "ps/message.h"
#include "ps/node.h"

namespace ecps::ps {

/// Control topics below this value are reserved for the framework; models use larger ones.
constexpr std::uint32_t kFirstModelTopic = 1000;

/// Scheduler: sends `*value` to every rank in `to`. Others: receive it into `*value` from the
/// scheduler. Every listed rank and the scheduler call it with the same topic.
template <class T>
Status Broadcast(Node& node, std::uint32_t topic, const std::vector<Rank>& to, T* value,
                 Deadline deadline) {
  if (node.role() == Role::kScheduler) {
    for (Rank r : to) {
      ECPS_RETURN_IF_ERROR(node.SendControl(r, topic, EncodeControl(*value)));
    }
    return Status::Ok();
  }
  ECPS_ASSIGN_OR_RETURN(Message m, node.RecvControl(topic, RoleTable::kSchedulerRank, deadline));
  return DecodeControl(m.control, value);
}

/// Each rank in `from` sends `value` to the scheduler; the scheduler returns them in the
/// order of `from` (others get an empty vector).
template <class T>
Result<std::vector<T>> Gather(Node& node, std::uint32_t topic, const std::vector<Rank>& from,
                              const T& value, Deadline deadline) {
  if (node.role() != Role::kScheduler) {
    ECPS_RETURN_IF_ERROR(node.SendControl(RoleTable::kSchedulerRank, topic, EncodeControl(value)));
    return std::vector<T>{};
  }
  std::vector<T> out(from.size());
  for (std::size_t i = 0; i < from.size(); ++i) {
    ECPS_ASSIGN_OR_RETURN(Message m, node.RecvControl(topic, from[i], deadline));
    ECPS_RETURN_IF_ERROR(DecodeControl(m.control, &out[i]));
  }
  return out;
}

/// Every rank in `group` sends `value` to every other rank in `group` and returns the values
/// of all of them in the order of `group` (its own included, not sent). The caller must be in
/// `group`; every rank of it calls with the same topic and group. Each receive waits until
/// `deadline`.
template <class T>
Result<std::vector<T>> AllGather(Node& node, std::uint32_t topic, const std::vector<Rank>& group,
                                 const T& value, Deadline deadline) {
  const Rank self = node.rank();
  for (Rank r : group) {
    if (r != self) ECPS_RETURN_IF_ERROR(node.SendControl(r, topic, EncodeControl(value)));
  }
  std::vector<T> out(group.size());
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i] == self) {
      out[i] = value;
      continue;
    }
    ECPS_ASSIGN_OR_RETURN(Message m, node.RecvControl(topic, group[i], deadline));
    ECPS_RETURN_IF_ERROR(DecodeControl(m.control, &out[i]));
  }
  return out;
}

/// All worker ranks, in worker order.
inline std::vector<Rank> WorkerRanks(const RoleTable& roles) {
  std::vector<Rank> r;
  for (int w = 0; w < roles.num_workers(); ++w) r.push_back(roles.WorkerRank(w));
  return r;
}

/// All server ranks, in server order.
inline std::vector<Rank> ServerRanks(const RoleTable& roles) {
  std::vector<Rank> r;
  for (int s = 0; s < roles.num_servers(); ++s) r.push_back(roles.ServerRank(s));
  return r;
}

/// Every rank but the scheduler.
inline std::vector<Rank> NonSchedulerRanks(const RoleTable& roles) {
  std::vector<Rank> r;
  for (Rank i = 1; i < roles.size(); ++i) r.push_back(i);
  return r;
}

}  // namespace ecps::ps
