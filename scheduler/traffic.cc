#include "scheduler/traffic.h"

#include <algorithm>

#include "ps/collective.h"

namespace ecps::sched {
namespace {

constexpr std::uint32_t kTrafficTopic = 2;  // reserved framework topic (below kFirstModelTopic)
constexpr const char* kKindNames[ps::kTrafficKinds] = {"kv", "control", "system"};

nlohmann::json CountJson(const ps::TrafficCount& c) {
  return {{"messages", c.messages}, {"bytes", c.bytes}};
}

// Min, median and max of `v` (not empty).
nlohmann::json Spread(std::vector<std::uint64_t> v) {
  std::sort(v.begin(), v.end());
  return {{"min", v.front()}, {"median", v[v.size() / 2]}, {"max", v.back()}};
}

}  // namespace

Status GatherTraffic(ps::Node& node, ps::Deadline deadline) {
  const ps::RankTraffic mine = node.Traffic();
  ECPS_ASSIGN_OR_RETURN(auto others, ps::Gather(node, kTrafficTopic, ps::NonSchedulerRanks(node.roles()),
                                                mine, deadline));
  if (node.role() != ps::Role::kScheduler) return Status::Ok();
  others.insert(others.begin(), mine);
  node.SetJobTraffic(std::move(others));
  return Status::Ok();
}

namespace {

nlohmann::json JsonOf(const ps::RoleTable& roles, const std::vector<ps::RankTraffic>& all,
                      const char* scope) {
  if (all.empty()) return nullptr;
  std::array<ps::TrafficCount, ps::kTrafficKinds> by_kind{};
  ps::TrafficCount total;
  nlohmann::json by_role = nlohmann::json::object(), by_rank = nlohmann::json::array();
  std::vector<ps::TrafficCount> per_clock;
  std::uint64_t pushed_rows = 0, pulled_rows = 0;
  for (const auto& t : all) {
    pushed_rows += t.pushed_rows;
    pulled_rows += t.pulled_rows;
    for (int k = 0; k < ps::kTrafficKinds; ++k) by_kind[static_cast<std::size_t>(k)].Add(t.sent[static_cast<std::size_t>(k)]);
    const ps::TrafficCount sent = t.SentTotal(), received = t.ReceivedTotal();
    total.Add(sent);
    const char* role = ps::RoleName(roles.RoleOf(t.rank));
    auto& r = by_role[role];
    if (r.is_null()) r = {{"ranks", 0}, {"sent", CountJson({})}, {"received", CountJson({})}};
    r["ranks"] = r["ranks"].get<int>() + 1;
    for (auto [key, c] : {std::pair{"sent", sent}, std::pair{"received", received}}) {
      r[key]["messages"] = r[key]["messages"].get<std::uint64_t>() + c.messages;
      r[key]["bytes"] = r[key]["bytes"].get<std::uint64_t>() + c.bytes;
    }
    by_rank.push_back({{"rank", t.rank}, {"role", role}, {"sent_bytes", sent.bytes},
                       {"sent_messages", sent.messages}, {"received_bytes", received.bytes},
                       {"received_messages", received.messages}});
    if (t.kv_sent_per_clock.size() > per_clock.size()) per_clock.resize(t.kv_sent_per_clock.size());
    for (std::size_t c = 0; c < t.kv_sent_per_clock.size(); ++c) per_clock[c].Add(t.kv_sent_per_clock[c]);
  }
  nlohmann::json j;
  j["scope"] = scope;
  j["header_bytes"] = sizeof(ps::MsgHeader);
  j["sent"] = CountJson(total);
  for (int k = 0; k < ps::kTrafficKinds; ++k) j["sent_by_kind"][kKindNames[k]] = CountJson(by_kind[static_cast<std::size_t>(k)]);
  j["kv_rows"] = {{"pushed", pushed_rows}, {"pulled", pulled_rows}};
  j["by_role"] = std::move(by_role);
  j["by_rank"] = std::move(by_rank);
  if (!per_clock.empty()) {
    std::vector<std::uint64_t> bytes, messages;
    for (const auto& c : per_clock) {
      bytes.push_back(c.bytes);
      messages.push_back(c.messages);
    }
    j["kv_per_clock"] = {{"clocks", per_clock.size()}, {"bytes", Spread(bytes)}, {"messages", Spread(messages)}};
  }
  return j;
}

}  // namespace

nlohmann::json TrafficJson(const ps::Node& node) {
  return JsonOf(node.roles(), node.job_traffic(), "from the job's start to the end of its work phase");
}

nlohmann::json TrafficJson(const ps::Node& node, const std::vector<ps::RankTraffic>& earlier) {
  std::vector<ps::RankTraffic> all = node.job_traffic();
  if (all.empty()) return nullptr;
  for (const auto& e : earlier) {
    for (auto& t : all) {
      if (t.rank == e.rank) t.Add(e);
    }
  }
  return JsonOf(node.roles(), all,
                "the earlier jobs of the command (e.g. ingest) and this job from its start to the "
                "end of its work phase");
}

}  // namespace ecps::sched
