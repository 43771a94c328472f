#include "scheduler/local_cluster.h"

#include <thread>

#include "ps/inproc_transport.h"
#include "ps/logging.h"

namespace ecps::sched {

std::vector<Status> RunLocalEach(const ps::RoleTable& roles, const LocalClusterOptions& options,
                                 const JobFactory& make_job) {
  auto hub = ps::InProcHub::Create(roles.size());
  auto sink = options.sink ? options.sink : ps::ProcessSink();
  std::vector<Status> results(static_cast<std::size_t>(roles.size()));
  std::vector<std::thread> threads;
  for (ps::Rank r = 0; r < roles.size(); ++r) {
    std::unique_ptr<ps::Transport> t = hub->Endpoint(r);
    auto f = options.faults.find(r);
    if (f != options.faults.end()) t = std::make_unique<ps::FaultyTransport>(std::move(t), f->second);
    auto node = std::make_unique<ps::Node>(roles, std::move(t), options.node,
                                           ps::MakeRankLogger(roles, r, sink, options.log_level));
    auto job = make_job(r);
    threads.emplace_back([&results, &options, r, node = std::move(node), job = std::move(job)]() mutable {
      results[static_cast<std::size_t>(r)] = RunNode(*node, *job, options.run);
      node.reset();  // stop this rank's threads before the job it used goes away
    });
  }
  for (auto& th : threads) th.join();
  return results;
}

Status RunLocal(const ps::RoleTable& roles, const LocalClusterOptions& options,
                const JobFactory& make_job) {
  auto results = RunLocalEach(roles, options, make_job);
  if (!results[0].ok()) return results[0];
  for (const auto& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace ecps::sched
