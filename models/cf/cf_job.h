// Item-based and user-based collaborative filtering on the parameter server.
//
// Training runs two jobs on the same ranks (the second's tables are sized by what the
// first found; per-rank state passes between them):
//
//  1. ingest — workers read byte ranges of the interaction file, intern their ids and send
//     the distinct ids to the scheduler, which assigns dense indices in canonical id order
//     (ids.h) and returns them; workers then shuffle rows to the owner of each user (a hash
//     of the user id), deduplicate, and split each user's history (split.h). The scheduler
//     adds up per-worker entity counts into the layout of an entity-major matrix (items for
//     itemcf, users for usercf) and tells each worker where its entries go.
//  2. model — tables on the servers: cf.matrix (the training matrix, entity-major: one key
//     per interaction), cf.neighbors (width 2k, merged by TopKMergeRule), cf.context_stats
//     (context sums, for adjusted cosine) and cf.content (the items' attribute neighbours,
//     merged the same way). Workers push their entries into
//     cf.matrix; the scheduler's block plan (sched::PlanBlocks) splits the entity space
//     into blocks and gives each worker (row block, column block) tasks; for each task a
//     worker pulls the two blocks' entries, computes both directions sparsely
//     (similarity.h) and pushes candidate lists, which the servers merge into each entity's
//     top k. Then every worker scores its own users (scoring.h), writes their top N, and
//     evaluates them — the model and the popularity baseline, full ranking and the sampled
//     protocol (metrics.h) — and sends its rows and metric partials to the scheduler, which
//     writes DIR/recommendations.csv, neighbors.csv, model.ecps, metrics.json(l).
//
// Files: ingest_job.h (job 1), model_job.h (job 2: tables and similarity blocks),
// recommend.h (scoring and evaluation on the workers), outputs.h (the scheduler's files),
// messages.h (what the ranks send each other), train_state.h (what the jobs share).
//
// Memory per worker: its users' interactions plus the two blocks of the current task and
// one block-wide accumulator per thread; per server: its share of the matrix and of the
// neighbour lists. Nothing is n_items x n_items.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cf/choices.h"
#include "models/cf/dp.h"
#include "models/common/checkpoint.h"
#include "privacy/pseudonym.h"
#include "privacy/sealed.h"
#include "ps/status.h"
#include "scheduler/job.h"

namespace ecps::models::cf {

struct CfOptions {
  /// Neighbours of items (itemcf) or of users (usercf).
  CfKind kind = CfKind::kItemCf;
  /// Interaction file: user item [rating [timestamp]].
  std::string train;
  /// Output folder.
  std::string out;
  /// Header row: auto, yes or no.
  worker::HeaderMode header = worker::HeaderMode::kAuto;
  /// --delimiter (unset: detected) and --columns (worker::InteractionOptions).
  std::optional<char> delimiter;
  std::string columns;
  /// auto (implicit; a rating column is read only for adjusted-cosine and pearson), implicit
  /// or explicit (ratings: the choice for rating prediction).
  Feedback feedback = Feedback::kAuto;
  /// Count and skip malformed rows instead of failing.
  bool skip_bad_rows = false;
  /// cosine, adjusted-cosine, pearson or jaccard.
  Measure similarity = Measure::kCosine;
  /// Neighbours kept per entity.
  int neighbors = 20;
  /// Recommendations per user in recommendations.csv (0: none).
  int top_n = 10;
  /// Shrinkage lambda: s * n / (n + lambda), n = co-support.
  double shrinkage = 0.0;
  /// Minimum co-support of a neighbour pair.
  int min_support = 1;
  /// Entities per similarity block (0: the fewest blocks giving each worker about two
  /// tasks, at most 65536 entities wide).
  std::uint64_t block_size = 0;
  /// auto (average with Feedback::kExplicit, else sum), sum or average (see scoring.h).
  ScoringChoice scoring = ScoringChoice::kAuto;
  /// itemcf: a user's training item of age a (0 = latest) weighs decay^a when scoring
  /// (1 = no recency weighting).
  double recency_decay = 1.0;
  /// itemcf: item attributes CSV for content-based similarity ("" = none).
  std::string item_attributes;
  /// Column of the item id in the attributes file ("" = the first).
  std::string attribute_id_column;
  /// Items with fewer training interactions use their attribute neighbours only.
  int cold_threshold = 5;
  /// Weight of attribute neighbours for the other items (0 = CF only).
  double content_blend = 0.0;
  /// Quantile bands of each numeric attribute.
  int numeric_bands = 5;
  /// itemcf: item text CSV for text similarity ("" = none; text_features.h).
  std::string item_text;
  /// Column of the item id in the text file ("" = the first).
  std::string text_id_column;
  /// Text columns joined into each item's text (empty = every column but the id).
  std::vector<std::string> text_columns;
  /// Share of text in the content similarity when attributes are given too.
  double text_weight = 0.5;
  /// Drop the English stop words of text_tokens.h.
  bool text_stop_words = true;
  /// After the scored items, fill lists with popular items.
  bool fill_popular = true;
  /// none, leave-last-out, leave-one-out or holdout.
  SplitKind split = SplitKind::kNone;
  /// test or validation.
  EvalTarget evaluate_on = EvalTarget::kTest;
  double holdout_fraction = 0.2;
  int min_user_interactions = 3;
  /// Cutoffs of the ranking metrics.
  std::vector<int> metrics_k = {10};
  /// Random non-interacted items per held-out item in the sampled protocol.
  int sampled_negatives = 100;
  std::uint64_t seed = 42;
  /// Write model.ecps (the ids, neighbour lists and training interactions).
  bool save_model = true;
  /// Write neighbors.csv.
  bool write_neighbors = true;
  /// No progress lines (set from --quiet).
  bool quiet = false;
  /// Seconds before reading and recommending show progress (a shorter step stays silent).
  double progress_after_s = 1;
  /// Every rank runs in this process (--local): a NeighborListBytes estimate above this
  /// machine's memory is then refused before the similarity phase (else only warned about).
  bool single_process = true;
  /// Pseudonymised user ids and opt-outs, applied as the interactions are read; null = ids
  /// as they are. metrics.json's "data" then has excluded_rows, excluded_users, pseudonymized.
  std::shared_ptr<const privacy::IdFilter> ids;
  /// --encrypt-key: model.ecps, recommendations.csv and neighbors.csv (and
  /// content_neighbors.csv) are sealed (privacy/sealed.h); null = plain.
  std::shared_ptr<const privacy::EncryptionKey> encrypt;
  /// --checkpoint-dir, --checkpoint-every (block tasks), --checkpoint-keep, --resume
  /// (checkpoint.h).
  CheckpointOptions checkpoint;
  /// --dp-epsilon and the other --dp-* options (itemcf only; dp.h).
  DpCfOptions dp;

  bool item_based() const { return kind == CfKind::kItemCf; }
  /// "itemcf" or "usercf".
  std::string kind_name() const { return std::string(SpellingOf(kKinds, kind)); }
  /// The ranges and relations of the values (each enum is valid by its type).
  Status Validate() const;
  /// The --dp-* options and what a private run does not allow.
  Status ValidateDp() const;
  /// metrics.json's "config": the options that shape the model and its evaluation, by
  /// their spellings.
  nlohmann::json ToJson() const;
};

/// Memory the neighbour lists take during the similarity phase, in all ranks together: the
/// servers' tables of k slots (two doubles each) per entity, and per item for content lists
/// (`content_items`, 0 without), plus on each worker the two blocks of `block` entities of
/// its current task. The saved model holds only the real neighbours.
std::uint64_t NeighborListBytes(std::uint64_t entities, std::uint64_t content_items,
                                std::uint64_t k, int workers, std::uint64_t block);
/// This machine's physical memory in bytes (0 when unknown).
std::uint64_t PhysicalMemoryBytes();

/// Runs a job on the cluster: RunCluster in the command, RunLocal in tests. Called twice.
using ClusterRunner = std::function<Status(const sched::JobFactory&)>;

/// Trains item- or user-based CF and writes the outputs (on the scheduler's process).
/// Every process of an MPI job calls it with the same options.
Status TrainCf(const CfOptions& options, const ClusterRunner& run);

}  // namespace ecps::models::cf
