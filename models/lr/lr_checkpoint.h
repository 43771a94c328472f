// Checkpoints of `train lr` (the folder format is models/common/checkpoint.h). At the end of
// every clock worker 0 asks CheckpointSchedule::Due whether a checkpoint is taken there and
// tells the other workers. At a due clock every worker sends its position to the scheduler and
// waits; the scheduler asks every server for its shard of lr.weights once the clock is
// finalized (ps::TableShard: the weights and the rule's state, FTRL z and n or AdaGrad's
// accumulators). Once every server has copied its shard the workers go on; the servers send
// (only the keys ever pushed) and the scheduler writes while they train:
//   scheduler.bin  the clock, the options a resumed run must share, what identifies the data,
//                  the finished epochs' metrics.jsonl lines and the last evaluation;
//   worker-<i>.bin worker i's position (ProgressMsg: epoch, steps done in it, its partial sums);
//   server-<j>.bin server j's shard;
// then the manifest. Batches are functions of (seed, epoch, example id): no generator state.
// A resumed run needs the same number of workers (each sums its rows of a batch before the
// servers add the workers' sums: another split changes the float additions); the servers'
// shards are cut anew for any number of servers. DP-SGD runs are refused (LrOptions::Validate).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <nlohmann/json.hpp>

#include "models/common/checkpoint.h"
#include "models/lr/lr_messages.h"
#include "models/lr/lr_update.h"
#include "ps/kv_client.h"
#include "ps/kv_server.h"
#include "ps/node.h"
#include "ps/stopwatch.h"
#include "ps/table_shard.h"
#include "util/output_folder.h"

namespace ecps::models::lr {

struct LrOptions;

/// What the scheduler's loop has done, saved in checkpoints and restored on resume.
struct SchedulerProgress {
  int finished = 0;  ///< epochs
  double last_loss = 0;
  std::string final_eval = "null";  ///< JSON text: the last epoch's evaluation
  std::vector<std::string> lines;   ///< metrics.jsonl so far
  template <class A>
  void serialize(A& ar) { ar(finished, last_loss, final_eval, lines); }
};

/// The scheduler's part.
struct SchedulerPart {
  std::uint64_t clock = 0;
  int workers = 0;
  std::string config;  ///< CheckpointConfig as JSON text
  std::uint64_t train_rows = 0, train_nnz = 0, eval_rows = 0;
  std::uint32_t num_batches = 0;
  SchedulerProgress progress;
  template <class A>
  void serialize(A& ar) {
    ar(clock, workers, config, train_rows, train_nnz, eval_rows, num_batches, progress);
  }
};

/// The options a resumed run must share with the checkpoint's run (command-line names):
/// everything that changes the model or its outputs, and the consistency model; not --out,
/// --servers, --threads, --quiet, --progress-interval or the checkpoint options.
nlohmann::json CheckpointConfig(const LrOptions& options, const std::string& consistency);

/// When a checkpoint is taken: the one place that decides (worker 0 asks it at the end of
/// every clock; a request to stop and checkpoint now would be one more condition here).
class CheckpointSchedule {
 public:
  /// `last_clock`: the clock that ends the training (no checkpoint there).
  CheckpointSchedule(const CheckpointOptions& options, std::uint64_t last_clock)
      : options_(options), last_clock_(last_clock) {}
  /// Whether a checkpoint follows clock `clock` (clocks finished): never without
  /// --checkpoint-dir or at the last clock; otherwise every `every`-th clock, or the first
  /// clock ending every_seconds after the previous checkpoint (or the start).
  bool Due(std::uint64_t clock);

 private:
  const CheckpointOptions& options_;
  std::uint64_t last_clock_;
  ps::Stopwatch since_;
};

/// Scheduler: resuming, collecting the parts of a checkpoint, writing it, and its figures.
class SchedulerCheckpoints {
 public:
  SchedulerCheckpoints(const LrOptions& options, std::string consistency, int workers)
      : options_(options), consistency_(std::move(consistency)), workers_(workers) {}
  /// Locks --checkpoint-dir for this run; with --resume loads the newest valid checkpoint and
  /// checks its options and worker count (InvalidArgument naming the difference).
  Status Start(spdlog::logger& log);
  /// The checkpoint resumed from; null without --resume.
  const SchedulerPart* resumed() const { return resumed_ ? &resumed_->part : nullptr; }
  /// Resume, before the plan goes out: checks that the data is the checkpoint's, and loads
  /// every server's range of the saved shards into it (LoadServerShards); `clock_offset`:
  /// the clocks of a warm start's model (lr_warm_start.h), 0 without.
  Status LoadServers(ps::Node& node, const SetupReport& data, std::uint32_t num_batches,
                     std::uint64_t clock_offset);
  /// Resume, after the plan went out: sends every worker its saved position.
  Status SendPositions(ps::Node& node);
  /// A worker's message: a checkpoint part is kept; once every worker's is in, the servers'
  /// shards are collected, the workers go on, and the checkpoint is written with `progress`.
  Status OnProgress(ps::Node& node, ps::Rank from, const ProgressMsg& m,
                    const SchedulerProgress& progress, const SetupReport& data,
                    std::uint32_t num_batches);
  /// After training: the servers stop waiting for checkpoint requests.
  Status End(ps::Node& node);
  /// metrics.json's "checkpoints": written, seconds (workers waiting + writing), wait_seconds
  /// (workers waiting), last_bytes, resumed_from.
  nlohmann::json Json() const;

 private:
  struct Loaded {
    FoundCheckpoint found;
    SchedulerPart part;
  };
  const LrOptions& options_;
  std::string consistency_;
  int workers_;
  std::unique_ptr<util::OutputLock> lock_;
  std::unique_ptr<Loaded> resumed_;
  std::map<int, ProgressMsg> parts_;  // by worker index, of the checkpoint being collected
  int written_ = 0;
  double seconds_ = 0, wait_seconds_ = 0;
  std::uint64_t last_bytes_ = 0;
};

/// Scheduler: sends every server its range of `saved` (shards of lr.weights that together
/// cover the key space, cut anew for the servers there are) and waits until each has loaded
/// it. `resume`: the servers go on from `clock`; otherwise (a warm start) from clock 0.
/// `clock_offset`: SGD's decay counts on from there. `source` names the shards in errors.
Status LoadServerShards(ps::Node& node, const std::vector<ps::TableShard<float>>& saved, bool resume,
                        std::uint64_t clock, std::uint64_t clock_offset, const std::string& source);

/// Server: with --resume or --init-model loads its shard (and with --resume its clock); with
/// --checkpoint-dir answers the scheduler's requests for its shard until training ends.
Status ServeCheckpoints(const LrOptions& options, ps::Node& node, ps::KVServer& server,
                        MiniBatchFinalizer& finalizer);

/// Worker: its side of resuming and of taking a checkpoint.
class WorkerCheckpoints {
 public:
  WorkerCheckpoints(const LrOptions& options, ps::Node& node, ps::KVClient& kv,
                    std::uint32_t chunks, std::uint64_t last_clock);
  /// With plan.resume: receives the saved position and continues the clocks from it.
  /// Without: a position at the start (epoch 0, step 0).
  Result<ProgressMsg> Resume(bool resume);
  /// After a clock's push is acknowledged: when a checkpoint is due there, sends the position
  /// (`msg` with `step` steps done in its epoch) and waits until the scheduler has it.
  Status AfterClock(const ProgressMsg& msg, std::uint32_t step);

 private:
  const LrOptions& options_;
  ps::Node& node_;
  ps::KVClient& kv_;
  std::uint32_t chunks_;
  CheckpointSchedule schedule_;
};

}  // namespace ecps::models::lr
