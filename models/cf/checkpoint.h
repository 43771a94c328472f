// Checkpoints of CF training (internal to models/cf; the folder format is
// models/common/checkpoint.h). The clocks of a CF run: clock 1 = ingest done; clock 1 + t =
// t similarity block tasks merged into the servers' neighbour tables. A checkpoint is due
// (CfCheckpoints::Due, the one place that decides) after ingest, after the last block task,
// and after every --checkpoint-every-th task (or the first one ending that long after the
// last checkpoint). The checkpoint of clock c holds
//   scheduler.bin      the clock, the options a resumed run must share, the number of
//                      workers, the similarity blocks, which block tasks are merged and
//                      their candidate pairs;
//   ingest.bin         what ingest left on the scheduler: sizes, matrix layout, popularity,
//                      item features, the ids, metrics.json's "data";
//   worker-<i>.bin     worker i's users with their split interactions, its entities and
//                      where their entries go in cf.matrix;
//   neighbors-<j>.bin  (c > 1) rows [n j / W, n (j+1) / W) of cf.neighbors and cf.content
//                      as the servers hold them, pulled by worker j.
// The matrix and the context statistics are not saved: workers push them again from their
// part. Workers keep computing while the scheduler writes: a worker pulls its slice between
// two of its tasks, so a slice holds every task the scheduler had counted as done and maybe
// parts of later ones; a resumed run pushes the slices back and redoes the later tasks,
// whose repeated entries the merge rule takes once (TopKMergeRule's repeats), so the lists
// are those of an uninterrupted run.
//
// A resumed run may have another number of workers or servers: the scheduler deals the saved
// users anew as ingest would (ReshareUsers), keeps the checkpoint's blocks and deals the tasks
// not merged among the workers (PlanTasks), and sends each worker some of the saved slices.
// The neighbour lists do not depend on which worker merged which task.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "models/cf/train_state.h"
#include "models/common/checkpoint.h"
#include "ps/kv_client.h"
#include "ps/node.h"
#include "ps/stopwatch.h"
#include "scheduler/job.h"
#include "scheduler/shard_plan.h"
#include "util/output_folder.h"

namespace ecps::models::cf {

/// The options a resumed run must share with the checkpoint's run (command-line names, and the
/// sizes of the input files): everything that changes the model or its outputs; not --out, the
/// cluster's shape, --threads, --quiet or the checkpoint options.
nlohmann::json CheckpointConfig(const CfOptions& options);

/// The scheduler's side of checkpoints through one run (both jobs); held by the scheduler's
/// RankState.
class CfCheckpoints {
 public:
  explicit CfCheckpoints(const CfOptions& options) : options_(options) {}
  ~CfCheckpoints();
  CfCheckpoints(const CfCheckpoints&) = delete;
  CfCheckpoints& operator=(const CfCheckpoints&) = delete;
  /// The scheduler's CfCheckpoints of `state`, made (locking --checkpoint-dir against a second run)
  /// on first use; null when the run neither writes nor resumes.
  static Result<CfCheckpoints*> Of(const CfOptions& options, RankState* state);

  /// Whether a checkpoint is written after `clock`; `stage_end`: ingest or the last block task
  /// ended with it. The one place that decides; a checkpoint-and-stop request (SIGUSR1,
  /// models/common/checkpoint.h) makes every clock due.
  bool Due(std::uint64_t clock, bool stage_end) const;
  /// A checkpoint-and-stop request is pending and this run writes checkpoints. The scheduler
  /// decides alone: the signal reaches rank 0 as every rank (mpirun and srun pass it on).
  bool StopRequested() const;
  /// After the checkpoint of `clock` was started: with StopRequested, waits for it and returns
  /// CheckpointStopped (the job ends with exit code 75); else OK. Not after the last block
  /// task: the neighbours are complete and the run finishes.
  Status StopIfRequested(ps::Node& node, std::uint64_t clock);

  /// End of ingest: receives every worker's part (SendIngestPart) and writes clock 1.
  Status AfterIngest(ps::Node& node, const RankState& state);
  /// Resume: loads the newest valid checkpoint, checks it against the options and the cluster
  /// (InvalidArgument naming the difference), restores the scheduler's `state` and sends each
  /// worker its part (ReceiveResume).
  Status Resume(ps::Node& node, RankState* state);

  /// The model job's plan (scheduler): the block tasks not merged yet dealt among `workers`.
  /// A fresh run, or one resumed from the checkpoint after ingest, plans every task of `n`
  /// entities in blocks of `block_size` (sched::PlanBlocks); a run resumed mid-similarity keeps
  /// its checkpoint's blocks. AfterTask follows this plan.
  sched::ShardPlan PlanTasks(int workers, std::uint64_t n, std::uint64_t block_size);
  /// Block tasks merged (the resumed ones at the start) and their candidate pairs so far.
  std::uint64_t tasks_done() const;
  std::uint64_t pairs() const { return pairs_; }
  /// Similarity: worker `worker` merged its next task of PlanTasks's plan, of `pairs` candidate
  /// pairs; writes the checkpoint when due (`last`: every task is done). `n` entities.
  Status AfterTask(ps::Node& node, int worker, std::uint64_t pairs, bool last, std::uint32_t n);
  /// After the last task: lets the workers go on to the recommendations.
  Status EndSimilarity(ps::Node& node);
  /// Waits for the checkpoint being written (each is written on a thread of its own, beside the
  /// training); its failure, if any. Before the outputs, and before Json().
  Status Finish();

  /// metrics.json's "checkpoints": written, seconds (spent writing, beside the training), wait_s
  /// (the scheduler's wait for the workers' slices and for the previous checkpoint), last_bytes,
  /// resumed_from.
  nlohmann::json Json() const;

 private:
  /// Collects the workers' slices (clock > 1) and starts writing the checkpoint of `clock`.
  Status Write(ps::Node& node, std::uint64_t clock, std::uint32_t n);
  /// The encoded worker parts of `found` for `workers` workers: as saved, or dealt anew when
  /// the checkpoint's run had `saved_workers` != `workers`.
  Result<std::vector<std::string>> WorkerParts(const FoundCheckpoint& found,
                                               std::uint32_t saved_workers,
                                               const RankState& state, int workers,
                                               spdlog::logger& log) const;

  const CfOptions& options_;
  std::unique_ptr<util::OutputLock> lock_;
  std::string ingest_part_;                // encoded ingest.bin
  std::vector<std::string> worker_parts_;  // encoded worker-<i>.bin
  std::vector<std::uint64_t> bounds_;      // the similarity blocks (empty before the plan)
  std::vector<std::uint8_t> done_;         // per block task (row-major, i <= j): merged
  std::uint64_t pairs_ = 0;                // their candidate pairs
  std::vector<std::vector<sched::BlockTask>> tasks_;  // this run's plan, per worker
  std::vector<std::size_t> taken_;                    // tasks reported per worker
  ps::Stopwatch since_last_;
  std::thread writer_;
  Status writer_status_;  // of the last checkpoint written
  int written_ = 0;
  double seconds_ = 0, wait_s_ = 0;
  std::uint64_t last_bytes_ = 0;
  std::string resumed_from_;
};

/// The first job of a resumed run, in place of ingest (cf_job.h): the scheduler loads the
/// checkpoint (CfCheckpoints::Resume), workers receive their parts, servers the sizes.
class ResumeJob final : public sched::Job {
 public:
  ResumeJob(const CfOptions& options, std::shared_ptr<RankState> state)
      : options_(options), state_(std::move(state)) {}
  std::string name() const override { return options_.kind_name() + ".resume"; }
  std::vector<ps::TableSpec> Tables() const override { return {}; }
  Status SetupServer(ps::KVServer&) override { return Status::Ok(); }
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  Status FinishServer(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;

 private:
  const CfOptions& options_;
  std::shared_ptr<RankState> state_;
};

/// Worker, end of ingest with --checkpoint-dir: its part to the scheduler.
Status SendIngestPart(ps::Node& node, const RankState& state);
/// Worker of a resumed run: its part, the shared ingest results, its share of the resumed
/// candidate pairs and its saved slices of the neighbour tables, into `state`.
Status ReceiveResume(ps::Node& node, RankState* state);
/// Worker of a resumed run: pushes its saved slices of cf.neighbors (and cf.content).
Status PushSavedRows(ps::KVClient& kv, RankState* state, std::size_t k, ps::Deadline deadline);
/// Worker with --checkpoint-dir, between tasks: serves the scheduler's requests for its slice;
/// `to_the_end`: after its last task, waits until the scheduler lets it go on. True once the
/// scheduler's "go on" was received: it can come while the worker drains the requests after
/// its last task (the scheduler has every task's progress by then), and then no second wait
/// may follow.
Result<bool> ServeCheckpointRequests(ps::Node& node, ps::KVClient& kv, std::size_t k,
                                     bool content, bool to_the_end);

}  // namespace ecps::models::cf
