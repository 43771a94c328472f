#include "scheduler/job.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tbb/task_arena.h>

#include "ps/collective.h"
#include "scheduler/scheduler_service.h"
#include "scheduler/traffic.h"

namespace ecps::sched {
namespace {
constexpr std::uint32_t kPlanTopic = 1;
}  // namespace

Result<ShardPlan> Job::MakePlan(const ps::RoleTable& roles) {
  ShardPlan p;
  p.num_workers = roles.num_workers();
  p.file_ranges.resize(static_cast<std::size_t>(p.num_workers));
  return p;
}
Status Job::RunScheduler(JobContext&) { return Status::Ok(); }
Status Job::RunServer(JobContext&) { return Status::Ok(); }
Status Job::FinishServer(JobContext&) { return Status::Ok(); }
Status Job::FinishScheduler(JobContext&) { return Status::Ok(); }
ConsistencyNeed Job::NeededConsistency() const { return {}; }

namespace {
// InvalidArgument when `job` does not support `consistency`.
Status CheckConsistency(const Job& job, const ps::Consistency& consistency) {
  const ConsistencyNeed need = job.NeededConsistency();
  if (std::find(need.modes.begin(), need.modes.end(), consistency.mode) != need.modes.end()) {
    return Status::Ok();
  }
  std::vector<std::string_view> names;
  for (auto m : need.modes) names.push_back(ps::Consistency::ModeName(m));
  return InvalidArgument(fmt::format("train {}: --consistency must be {} ({})", job.name(),
                                     fmt::join(names, " or "), need.why));
}
}  // namespace

Status RunNode(ps::Node& node, Job& job, const RunOptions& options) {
  ECPS_RETURN_IF_ERROR(CheckConsistency(job, options.consistency));
  const auto role = node.role();
  std::optional<SchedulerService> service;
  std::optional<ps::KVServer> server;
  std::optional<ps::KVClient> client;
  const auto tables = job.Tables();
  auto fail = [&](const Status& s, std::string_view phase) {
    Status full = s.WithContext(fmt::format("{}: {} {}", node.roles().Describe(node.rank()), job.name(), phase));
    // A peer that already stopped (kAborted) means the job is being aborted elsewhere: give
    // the news a moment to arrive, and report the root cause rather than its echo.
    if (s.code() == StatusCode::kAborted) node.WaitForAbort(ps::DeadlineIn(3.0));
    if (node.aborted()) full = node.abort_status();
    (void)node.Abort(full);
    node.Stop();
    return full;
  };

  if (options.interrupt) {
    node.AddTicker([&node, check = options.interrupt] {
      if (node.aborted()) return;
      if (Status s = check(); !s.ok()) (void)node.Abort(s);
    });
  }

  switch (role) {
    case ps::Role::kScheduler:
      service.emplace(node);
      break;
    case ps::Role::kServer: {
      server.emplace(node, options.consistency);
      Status s = job.SetupServer(*server);
      if (!s.ok()) {
        node.Start();
        return fail(s, "server setup");
      }
      break;
    }
    case ps::Role::kWorker:
      client.emplace(node, tables);
      break;
  }
  node.Start();
  auto phase_deadline = [&] { return ps::DeadlineIn(options.phase_timeout_s); };

  // Phase 1: the shard plan, made once by the scheduler and sent to every rank.
  ShardPlan plan;
  if (role == ps::Role::kScheduler) {
    auto made = job.MakePlan(node.roles());
    if (!made.ok()) return fail(made.status(), "shard plan");
    plan = std::move(made).value();
    node.log().info("{}", plan.Describe());
  }
  Status s = ps::Broadcast(node, kPlanTopic, ps::NonSchedulerRanks(node.roles()), &plan, phase_deadline());
  if (!s.ok()) return fail(s, "receive shard plan");
  JobContext ctx{node, plan, client ? &*client : nullptr, server ? &*server : nullptr,
                 options.consistency, std::max(1, options.worker_threads)};

  s = node.Barrier(ps::BarrierGroup::kAll, phase_deadline());
  if (!s.ok()) return fail(s, "start barrier");

  // Phase 2: work.
  if (role == ps::Role::kWorker) {
    tbb::task_arena arena(ctx.threads);
    arena.execute([&] { s = job.RunWorker(ctx); });
  }
  if (role == ps::Role::kScheduler) s = job.RunScheduler(ctx);
  if (role == ps::Role::kServer) s = job.RunServer(ctx);
  if (!s.ok()) return fail(s, "run");
  s = node.Barrier(ps::BarrierGroup::kAll, phase_deadline());
  if (!s.ok()) return fail(s, "end-of-work barrier");
  s = GatherTraffic(node, phase_deadline());
  if (!s.ok()) return fail(s, "traffic counts");

  // Phase 3: finish (exports, outputs).
  if (role == ps::Role::kServer) s = job.FinishServer(ctx);
  if (role == ps::Role::kScheduler) s = job.FinishScheduler(ctx);
  if (!s.ok()) return fail(s, "finish");
  s = node.Barrier(ps::BarrierGroup::kAll, phase_deadline());
  if (!s.ok()) return fail(s, "final barrier");

  // Phase 4: shutdown.
  if (role == ps::Role::kScheduler) {
    node.BroadcastShutdown();
  } else {
    s = node.WaitForShutdown(phase_deadline());
    if (!s.ok()) return fail(s, "shutdown");
  }
  node.Stop();
  return Status::Ok();
}

}  // namespace ecps::sched
