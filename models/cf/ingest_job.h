// The first job of CF training (cf_job.h): read the interactions, give users and items
// dense indices, move each user's rows to its owner, split them, and lay out the
// entity-major matrix. Leaves its results in each rank's RankState.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/cf/train_state.h"
#include "scheduler/job.h"

namespace ecps::models::cf {

class IngestJob final : public sched::Job {
 public:
  IngestJob(const CfOptions& options, const Settings& settings, std::shared_ptr<RankState> state)
      : options_(options), settings_(settings), state_(std::move(state)) {}
  std::string name() const override { return options_.kind_name() + ".ingest"; }
  std::vector<ps::TableSpec> Tables() const override { return {}; }
  Status SetupServer(ps::KVServer&) override { return Status::Ok(); }
  /// Byte ranges of the interaction file (and of the attributes file) per worker.
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  /// Servers learn the table sizes of the next job.
  Status FinishServer(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;

 private:
  const CfOptions& options_;
  const Settings& settings_;
  std::shared_ptr<RankState> state_;
};

/// Scheduler, at the end of a job that sets the sizes: tells the servers the table sizes of
/// the model job; servers: learn them into `state`.
Status SendSizes(sched::JobContext& ctx, const RankState& state);
Status ReceiveSizes(sched::JobContext& ctx, RankState* state);

}  // namespace ecps::models::cf
