// The second job of CF training (cf_job.h), on the state the ingest job left: the matrix
// and neighbour tables on the servers, the similarity blocks on the workers, then each
// worker's recommendations and evaluation (recommend.h), and the outputs the scheduler
// writes (outputs.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/cf/messages.h"
#include "models/cf/train_state.h"
#include "scheduler/job.h"

namespace ecps::models::cf {

class TopKMergeRule;

class ModelJob final : public sched::Job {
 public:
  ModelJob(const CfOptions& options, const Settings& settings, std::shared_ptr<RankState> state)
      : options_(options), settings_(settings), state_(std::move(state)) {}
  std::string name() const override { return options_.kind_name(); }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  /// The similarity block tasks of each worker.
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  /// Each server sends the scheduler its rows of the neighbour tables, or returns the
  /// violation a merge rule found.
  Status FinishServer(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;
  /// A private run reads the noisy matrix after its one clock: BSP only.
  sched::ConsistencyNeed NeededConsistency() const override;

 private:
  std::uint32_t n_entities() const { return state_->n_entities(options_.item_based()); }
  std::uint32_t n_contexts() const { return state_->n_contexts(options_.item_based()); }
  template <class T>
  Status PushMatrix(ps::KVClient& kv, ps::Deadline deadline);
  Status PushContextStats(ps::KVClient& kv, ps::Deadline deadline);
  Result<std::vector<double>> PullContextMeans(ps::KVClient& kv, ps::Deadline deadline);
  template <class T>
  Result<std::shared_ptr<EntityBlock>> LoadBlock(ps::KVClient& kv, const sched::ShardPlan& plan,
                                                 std::uint32_t b,
                                                 std::span<const double> context_mean,
                                                 ps::Deadline deadline);
  /// Computes this worker's block tasks and pushes their candidate lists; returns the
  /// candidate pairs.
  Result<std::uint64_t> ComputeSimilarities(sched::JobContext& ctx,
                                            std::span<const double> context_mean);
  /// A private run's similarity step (dp.h): this worker's users' bounded contributions into
  /// cf.dp_cooc, one clock (the servers add the noise), then the neighbour candidates of its
  /// share of the noisy triangle into cf.neighbors, and the noisy popularity into the state.
  /// Returns the candidate pairs.
  Result<std::uint64_t> DpSimilarities(sched::JobContext& ctx);
  /// The matrix into cf.matrix, then this worker's block tasks (ComputeSimilarities).
  Result<std::uint64_t> BlockSimilarities(sched::JobContext& ctx);
  bool dp() const { return options_.dp.enabled(); }
  /// Content neighbours of the block pair (r, c) (the same pair over item attributes).
  Status PushContentBlock(ps::KVClient& kv, const EntityBlock& r, const EntityBlock& c,
                          ps::Deadline deadline);

  const CfOptions& options_;
  const Settings& settings_;
  std::shared_ptr<RankState> state_;
  std::vector<WorkerReport> reports_;  // scheduler
  // Servers: the rules of cf.neighbors and cf.content, owned by the server's tables.
  const TopKMergeRule* neighbor_rule_ = nullptr;
  const TopKMergeRule* content_rule_ = nullptr;
};

}  // namespace ecps::models::cf
