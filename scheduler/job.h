// Job: what a model gives the framework, and the runner that plays one rank's part.
//
// Every rank of a job builds the same Job object (from the same options) and calls RunNode.
// The runner then drives the roles in lock-step phases:
//   1. servers add the job's tables; the scheduler makes the shard plan and sends it out;
//   2. barrier; workers run RunWorker while the scheduler runs RunScheduler (and servers
//      RunServer, beside their dispatcher);
//   3. barrier; servers run FinishServer (e.g. hand their model shard to the scheduler)
//      while the scheduler runs FinishScheduler (e.g. write the outputs);
//   4. barrier; the scheduler sends shutdown and every rank stops.
// A failure anywhere aborts the whole job with a message that names the rank.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ps/consistency.h"
#include "ps/kv_client.h"
#include "ps/kv_server.h"
#include "ps/node.h"
#include "scheduler/shard_plan.h"

namespace ecps::sched {

/// What a role's code can reach. `client` is set on workers, `server` on servers.
struct JobContext {
  ps::Node& node;
  const ShardPlan& plan;
  ps::KVClient* client = nullptr;
  ps::KVServer* server = nullptr;
  /// The consistency the job's tables run under.
  ps::Consistency consistency;
  /// Compute threads of this rank's worker (>= 1). RunNode runs RunWorker inside a oneTBB
  /// task arena of this size, so a job's parallel loops use no more.
  int threads = 1;
};

/// The consistency modes a job can run under, and why when not every mode.
struct ConsistencyNeed {
  std::vector<ps::Consistency::Mode> modes = {ps::Consistency::Mode::kBsp, ps::Consistency::Mode::kSsp,
                                              ps::Consistency::Mode::kAsp};
  std::string why;
};

class Job {
 public:
  virtual ~Job() = default;
  /// Short name for logs ("kmeans").
  virtual std::string name() const = 0;
  /// The job's tables, identical on every rank.
  virtual std::vector<ps::TableSpec> Tables() const = 0;
  /// Servers: add every table with its rule and finalizer.
  virtual Status SetupServer(ps::KVServer& server) = 0;
  /// Scheduler: the shard plan for `roles` (default: no files, users by hash).
  virtual Result<ShardPlan> MakePlan(const ps::RoleTable& roles);
  /// Scheduler, while the workers run: progress, metric collection. Default: nothing.
  virtual Status RunScheduler(JobContext& ctx);
  /// Workers: the training or computation.
  virtual Status RunWorker(JobContext& ctx) = 0;
  /// Servers, while the workers run, beside the server's dispatcher (e.g. to receive settings
  /// from the scheduler before the first clock). Default: nothing.
  virtual Status RunServer(JobContext& ctx);
  /// Servers, after every worker finished. Default: nothing.
  virtual Status FinishServer(JobContext& ctx);
  /// Scheduler, after every worker finished, alongside FinishServer. Default: nothing.
  virtual Status FinishScheduler(JobContext& ctx);
  /// The consistency modes the job supports (default: every mode). RunNode refuses others.
  virtual ConsistencyNeed NeededConsistency() const;
};

/// Builds the job object of one rank (single-node mode calls it once per rank: ranks do not
/// share job state, as processes would not).
using JobFactory = std::function<std::shared_ptr<Job>(ps::Rank)>;

/// Options of the runner itself.
struct RunOptions {
  /// Upper bound on one phase (e.g. the workers' whole training); failures are caught
  /// sooner by heartbeats.
  double phase_timeout_s = 7 * 24 * 3600.0;
  /// Polled about every 100 ms on this rank's heartbeat thread while the job runs: a non-OK
  /// status (e.g. a signal asking the process to stop) aborts the job with it on every rank.
  std::function<Status()> interrupt;
  /// Consistency of the job's tables.
  ps::Consistency consistency;
  /// Compute threads of each worker (>= 1); see JobContext::threads.
  int worker_threads = 1;
};

/// Plays `node`'s role in `job`: sets up the role's services, starts the node, runs the
/// phases, and stops the node. Returns the job's first failure (as seen by this rank).
/// A consistency the job does not support is refused before the node starts
/// (InvalidArgument "train <job>: --consistency must be ... (<why>)").
Status RunNode(ps::Node& node, Job& job, const RunOptions& options = {});

}  // namespace ecps::sched
