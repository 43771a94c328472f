// Logistic regression on the parameter server (`ecps train lr`).
//
// Roles:
//  - workers load their byte ranges of the training (and test) files into memory once,
//    then, for each epoch and each global mini-batch b (rows assigned to batches by a seeded
//    hash of their example id, so batches do not depend on the worker count): pull the
//    weights of the batch's keys, compute the gradient of the summed log-loss of their rows
//    of the batch with oneTBB, push it (sorted unique keys), and end clock b. After each
//    epoch they score their test rows and send mergeable metric partials.
//  - servers own the weights by key range in one clocked table; MiniBatchFinalizer applies
//    SGD, AdaGrad or FTRL-Proximal once per clock to the summed gradient (lr_update.h).
//  - with --dp-*, DP-SGD (lr_dp.h): Poisson-sampled steps instead of the hash batches,
//    clipped per-example gradients, noise on every key of the servers, ε per epoch.
//  - the scheduler combines load reports (row counts, numeric column statistics), sends the
//    batch plan, shows progress, writes metrics.jsonl per epoch, and at the end gathers the
//    non-zero weights from the servers and writes model.bin, weights.csv/json and
//    metrics.json.
// Under BSP the model is the same for any number of workers up to float summation order.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/common/checkpoint.h"
#include "models/lr/lr_data.h"
#include "models/lr/lr_dp.h"
#include "models/lr/lr_eval.h"
#include "models/lr/lr_model.h"
#include "models/lr/lr_update.h"
#include "models/lr/lr_warm_start.h"
#include "ps/stopwatch.h"
#include "scheduler/job.h"
#include "worker/example_parser.h"

namespace ecps::models::lr {

/// Which weight exports `train lr` writes.
enum class WeightExport { kCsv, kJson, kBoth, kNone };
/// "csv", "json", "both" or "none"; ParseWeightExport is its inverse.
const char* WeightExportName(WeightExport e);
Result<WeightExport> ParseWeightExport(const std::string& name);

/// The options of `train lr`; `out` holds model.bin, metrics.json, metrics.jsonl,
/// weights.csv/json and, when it evaluates, curves.json (ROC, PR, gain, calibration).
struct LrOptions : DataOptions {
  /// libsvm: `name<TAB>index` map giving the exported weights their feature names.
  std::string featindex;
  /// The rule and its parameters (update.algorithm: FTRL, AdaGrad or SGD).
  UpdateOptions update;
  int epochs = 3;
  /// Examples per global mini-batch (on average; batches are hash-assigned). 0 = automatic:
  /// training rows / 200, within [kMinAutoBatch, kMaxAutoBatch] (about 200 updates per
  /// epoch: small data sets get small batches, large ones few clocks).
  std::uint64_t batch_size = 0;
  static constexpr std::uint64_t kMinAutoBatch = 100;
  static constexpr std::uint64_t kMaxAutoBatch = 20000;
  /// Standardise numeric CSV columns with the training set's mean and deviation.
  bool standardize = true;
  /// With standardize: columns that are never negative in the training data are
  /// log1p-transformed first (counts, durations and amounts are heavy-tailed).
  bool log_transform = true;
  std::uint64_t seed = 1;
  /// Probability at or above which a prediction counts as positive (accuracy, F1, ...).
  double threshold = 0.5;
  WeightExport export_weights = WeightExport::kBoth;
  /// Seconds between progress messages from workers.
  double progress_interval_s = 1.0;
  /// DP-SGD (lr_dp.h) when dp.enabled(): Poisson batches, clipped gradients, server noise.
  DpOptions dp;
  /// --checkpoint-dir, --checkpoint-every (clocks = mini-batches), --resume (lr_checkpoint.h).
  CheckpointOptions checkpoint;
  /// --init-model: a trained model's folder or model.bin to continue from (lr_warm_start.h).
  std::string init_model;
  /// Whether model.bin keeps the servers' optimizer state (for a later --init-model).
  bool save_state = true;
  /// --impute: missing numeric CSV values (lr_impute.h).
  ImputeMode impute = ImputeMode::kNone;

  Status Validate() const;
  /// The training configuration as metrics.json's "config" holds it.
  nlohmann::json ToJson() const;
};

/// Memory of the arrays an lr job sizes by its key space, estimated before any rank starts
/// (the rows a worker loads come on top; see the README's lr section).
struct LrMemoryEstimate {
  std::uint64_t num_keys = 0;
  /// Per key on the servers: the weight, the rule's state (FTRL 2 floats, AdaGrad 1, SGD 0)
  /// and one float per open clock buffer (a clocked table buffers each clock densely).
  std::uint64_t server_bytes_per_key = 0;
  /// Every server together (servers split the keys).
  std::uint64_t servers_bytes = 0;
  /// One worker: key bitmaps over the whole key space (the evaluation rows' index, and per
  /// thread those that group rows into batches).
  std::uint64_t worker_bytes = 0;
};
/// `staleness`: the cluster's bound (0 BSP, s SSP, negative ASP); `threads`: oneTBB threads
/// of a worker; `dp`: DP-SGD, whose servers noise a dense double and float gradient per key.
LrMemoryEstimate EstimateLrMemory(std::uint64_t num_keys, Algorithm algorithm, int staleness, int threads,
                                  bool dp = false);

class LrJob final : public sched::Job {
 public:
  explicit LrJob(LrOptions options);

  std::string name() const override { return "lr"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  Status RunServer(sched::JobContext& ctx) override;
  Status FinishServer(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;

  /// Whether the options and the training file's header make a valid job (checked when the
  /// job is built; commands check it before starting a cluster).
  const Status& init_status() const { return init_; }
  /// After a successful init: EstimateLrMemory for this job's key space and rule, with this
  /// machine's oneTBB thread count.
  LrMemoryEstimate EstimateMemory(int staleness) const;
  /// Scheduler, after a successful run: what metrics.json holds.
  const nlohmann::json& metrics() const { return metrics_; }
  /// Scheduler, after a successful run: the trained model.
  const LrModel& model() const { return model_; }

 private:
  Status Init();
  bool evaluating() const { return !options_.test.empty() || options_.holdout > 0; }

  LrOptions options_;
  Status init_;
  std::unique_ptr<worker::ExampleParser> parser_;
  MiniBatchFinalizer* finalizer_ = nullptr;  // server: owned by the server's table
  // Scheduler state.
  std::vector<std::vector<std::string>> categories_;
  FeatureNames featindex_names_;  // from --featindex
  nlohmann::json metrics_;
  LrModel model_;
  std::unique_ptr<WarmStart> warm_;  // --init-model (released on workers and servers)
  std::uint64_t clocks_ = 0;         // scheduler: clocks of this run (epochs x steps)
  Imputation impute_;                // scheduler: --impute with its fills
  ps::Stopwatch since_plan_;  // from MakePlan: the job's total time
  // Scheduler: the weights' names from the libsvm/libffm indices (AddIndexNames), read while
  // the workers train; declared last, so that it is waited for before the rest goes.
  std::future<std::pair<Status, FeatureNames>> index_names_;
};

}  // namespace ecps::models::lr
