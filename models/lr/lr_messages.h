// The table and the control messages of the lr job (internal to models/lr: lr_job.cc and its
// checkpoints, lr_checkpoint.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "models/lr/lr_dp.h"
#include "models/lr/lr_eval.h"
#include "models/lr/lr_model.h"
#include "ps/table_shard.h"
#include "ps/types.h"

namespace ecps::models::lr {

inline constexpr ps::TableId kWeights = 1100;
inline constexpr std::uint32_t kSetupTopic = 1100;     // worker -> scheduler: load report
inline constexpr std::uint32_t kPlanTopic = 1101;      // scheduler -> workers: batches, scaling
inline constexpr std::uint32_t kProgressTopic = 1102;  // worker -> scheduler: progress, epoch ends, checkpoint parts
inline constexpr std::uint32_t kDoneTopic = 1103;      // worker -> servers: every clock sent
inline constexpr std::uint32_t kWeightsTopic = 1104;   // server -> scheduler: non-zero weights
inline constexpr std::uint32_t kDpServerTopic = 1105;  // scheduler -> servers: DP noise settings
inline constexpr std::uint32_t kDpAckTopic = 1106;     // server -> scheduler: DP noise set up
inline constexpr std::uint32_t kCkptDueTopic = 1107;   // worker 0 -> workers: checkpoint at this clock?
inline constexpr std::uint32_t kCkptGoTopic = 1108;    // scheduler -> workers: checkpoint taken, go on
inline constexpr std::uint32_t kCkptAskTopic = 1109;   // scheduler -> servers: your shard at clock c / end
inline constexpr std::uint32_t kCkptShardTopic = 1110; // server <-> scheduler: a shard (saved or to load)
inline constexpr std::uint32_t kResumeTopic = 1111;    // scheduler -> workers: the saved position
inline constexpr std::uint32_t kCkptReadyTopic = 1112; // server -> scheduler: shard copied, workers may go on
inline constexpr std::uint32_t kMedianAskTopic = 1113;    // scheduler -> workers: --impute median candidates
inline constexpr std::uint32_t kMedianCountTopic = 1114;  // workers -> scheduler: counts at or below them
inline constexpr std::size_t kMaxCategoryNames = 100000;

struct SetupReport {
  std::uint64_t train_rows = 0, test_rows = 0, nnz = 0, bad_rows = 0;
  std::vector<std::string> bad_messages;
  NumericStats numeric;  // per numeric column, training rows
  std::vector<std::vector<std::string>> categories;
  double load_s = 0;
  // --impute: training values missing per numeric column; rows missing any (train, evaluation).
  std::vector<std::uint64_t> missing;
  std::uint64_t rows_missing = 0, test_rows_missing = 0;
  template <class A>
  void serialize(A& ar) {
    ar(train_rows, test_rows, nnz, bad_rows, bad_messages, numeric, categories, load_s, missing, rows_missing,
       test_rows_missing);
  }
};

struct TrainPlan {
  std::uint32_t num_batches = 1;
  double nominal_batch = 1;
  NumericScaling scaling;
  bool dp = false;  // DP-SGD: dp_plan replaces the batches (its key is never written)
  DpPlan dp_plan;
  bool resume = false;  // workers then receive their saved position (kResumeTopic)
  int epoch_offset = 0;  // warm start: the init model's epochs (epoch e orders its batches as e + offset)
  Imputation impute;     // --impute: applied to the training and evaluation rows before the scaling
  template <class A>
  void serialize(A& ar) { ar(num_batches, nominal_batch, scaling, dp, dp_plan, resume, epoch_offset, impute); }
};

/// A worker's progress in an epoch; with `checkpoint`, its position at a checkpoint (what
/// worker-<i>.bin holds; timings are not restored).
struct ProgressMsg {
  bool epoch_end = false;
  int epoch = 0;
  std::uint64_t examples = 0;  // training examples done in this epoch
  double loss_sum = 0;         // their progressive log-loss
  std::uint64_t nnz = 0;       // non-zeros processed in this epoch
  double compute_s = 0;        // gradient time in this epoch
  double epoch_s = 0;          // wall time of this epoch (at its end)
  double index_s = 0;          // grouping the rows by batch (first epoch)
  double wait_s = 0;           // waiting for pulls and push acknowledgements
  bool has_eval = false;
  BinaryEval eval;
  bool checkpoint = false;
  std::uint64_t clock = 0;     // checkpoint: clocks finished
  std::uint32_t step = 0;      // checkpoint: steps done in `epoch`
  std::uint32_t chunks = 0;    // checkpoint: the gradient kernel's chunks (its summation order)
  template <class A>
  void serialize(A& ar) {
    ar(epoch_end, epoch, examples, loss_sum, nnz, compute_s, epoch_s, index_s, wait_s, has_eval, eval,
       checkpoint, clock, step, chunks);
  }
};

struct WeightShard {
  std::vector<std::uint32_t> keys;
  std::vector<float> weights;
  ps::TableShard<float> state;  // the server's table with the rule's state (none for SGD)
  template <class A>
  void serialize(A& ar) { ar(keys, weights, state); }
};

}  // namespace ecps::models::lr
