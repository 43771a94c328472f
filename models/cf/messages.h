// What the ranks of CF training send each other: control topics, table ids and the
// messages of the ingest job (Cereal) and of the model job (flat payloads, pack.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "models/cf/attributes.h"
#include "models/cf/metrics.h"
#include "models/cf/train_state.h"
#include "ps/message.h"
#include "ps/status.h"
#include "ps/types.h"

namespace ecps::models::cf {

// Control topics of this model: 1300-1399.
constexpr std::uint32_t kTopicIds = 1300;            // IdReport, worker -> scheduler
constexpr std::uint32_t kTopicAssign = 1301;         // IdAssignment, scheduler -> worker
constexpr std::uint32_t kTopicShuffle = 1302;        // interaction rows, worker -> owner
constexpr std::uint32_t kTopicCounts = 1303;         // CountReport, worker -> scheduler
constexpr std::uint32_t kTopicLayout = 1304;         // Layout, scheduler -> worker
constexpr std::uint32_t kTopicProgress = 1305;       // pairs of one block task
constexpr std::uint32_t kTopicReport = 1306;         // EncodeWorkerReport
constexpr std::uint32_t kTopicServerRows = 1307;     // a server's cf.neighbors rows
constexpr std::uint32_t kTopicSizes = 1308;          // Sizes, scheduler -> servers
constexpr std::uint32_t kTopicServerContent = 1309;  // a server's cf.content rows
// Checkpoints (checkpoint.h).
constexpr std::uint32_t kTopicIngestPart = 1310;      // a worker's part after ingest
constexpr std::uint32_t kTopicCheckpoint = 1311;      // scheduler -> worker: pull a slice / go on
constexpr std::uint32_t kTopicCheckpointPart = 1312;  // the slice, worker -> scheduler
constexpr std::uint32_t kTopicResume = 1313;          // scheduler -> worker: its saved parts
// Progress of a worker's step (progress.h).
constexpr std::uint32_t kTopicIngestProgress = 1314;     // bytes of the interaction file read
constexpr std::uint32_t kTopicRecommendProgress = 1315;  // users recommended for
// Private runs (dp.h): worker 0's noisy popularity, for model.ecps.
constexpr std::uint32_t kTopicDpPopularity = 1316;

constexpr ps::TableId kMatrix = 1;
constexpr ps::TableId kNeighbors = 2;
constexpr ps::TableId kContextStats = 3;
constexpr ps::TableId kContent = 4;
/// Private runs: the noisy upper triangle of the catalogue's co-occurrence matrix (dp.h).
constexpr ps::TableId kDpCooc = 5;

/// Keys per push/pull of the matrix: large enough that per-message costs vanish, small
/// enough that every worker's staging buffers stay a few MB.
constexpr std::size_t kChunk = std::size_t{1} << 18;

/// cf.matrix: the context index of each entry, and its rating unless the data is binary.
inline std::uint32_t MatrixWidth(const Settings& settings) { return settings.sim.binary ? 1 : 2; }
/// cf.matrix holds context indices (and float ratings): floats are exact for indices below
/// 2^24 and halve the servers' memory; doubles beyond.
inline bool MatrixIsFloat(const CfOptions& options, const RankState& state) {
  return state.n_contexts(options.item_based()) <= (1u << 24);
}
/// itemcf with item attributes or item text: content neighbours in cf.content.
inline bool HasContent(const CfOptions& options) {
  return options.item_based() && (!options.item_attributes.empty() || !options.item_text.empty());
}

/// A worker's distinct ids (canonical order) and what its reader skipped.
struct IdReport {
  std::vector<std::string> users, items;
  std::uint64_t rows = 0, skipped = 0;
  std::vector<std::string> examples;
  /// Rows of opted-out users dropped, and those users' distinct (pseudonymised) ids.
  std::uint64_t excluded = 0;
  std::vector<std::string> excluded_users;
  template <class A>
  void serialize(A& ar) {
    ar(users, items, rows, skipped, examples, excluded, excluded_users);
  }
};

/// The global indices of a worker's ids, in the order of its IdReport.
struct IdAssignment {
  std::vector<std::uint32_t> users, items;
  std::uint32_t n_users = 0, n_items = 0;
  template <class A>
  void serialize(A& ar) {
    ar(users, items, n_users, n_items);
  }
};

/// A worker's counts after the shuffle and the split.
struct CountReport {
  std::vector<std::uint32_t> entities, entity_counts;  // this worker's training entries
  std::vector<std::uint32_t> items, item_counts;       // popularity
  std::uint64_t users = 0, evaluated_users = 0, targets = 0, dropped = 0, duplicates = 0;
  // Attribute rows this worker read (item indices global).
  std::vector<std::string> attr_columns;
  std::vector<std::uint32_t> attr_items;
  std::vector<std::string> attr_values;
  // Item text rows this worker read (item indices global), one text per row.
  std::vector<std::uint32_t> text_items;
  std::vector<std::string> text_values;
  template <class A>
  void serialize(A& ar) {
    ar(entities, entity_counts, items, item_counts, users, evaluated_users, targets, dropped,
       duplicates, attr_columns, attr_items, attr_values, text_items, text_values);
  }
};

/// The model job's table sizes, for the servers.
struct Sizes {
  std::uint32_t n_users = 0, n_items = 0;
  std::uint64_t nnz = 0;
  template <class A>
  void serialize(A& ar) {
    ar(n_users, n_items, nnz);
  }
};

/// Where a worker's entries go in the entity-major matrix, and what every worker needs.
struct Layout {
  std::vector<std::uint64_t> offsets;  // aligned with the worker's CountReport::entities
  std::vector<std::uint64_t> ptr;      // entity-major matrix offsets (n_entities + 1)
  std::vector<std::uint32_t> item_count;
  std::uint32_t n_users = 0, n_items = 0;
  ItemFeatures features;  // empty without attributes
  template <class A>
  void serialize(A& ar) {
    ar(offsets, ptr, item_count, n_users, n_items, features);
  }
};

/// A worker's recommendations (top N per own user, `rec_count` of them filled) and its
/// metric partials.
struct UserResults {
  std::vector<std::uint32_t> rec_count, rec_items;
  std::vector<float> rec_scores;
  EvalSums model, popularity;
  Coverage model_coverage, popularity_coverage;
};

/// What a worker sends the scheduler at the end (kTopicReport): its candidate pairs and
/// timings, `results`, and its users' training rows when `with_training` (for model.ecps).
/// `own` and `results` must stay alive until the blob is sent.
ps::Blob EncodeWorkerReport(std::uint64_t pairs, double similarity_s, const OwnUsers& own,
                            const UserResults& results, bool with_training, double recommend_s);

/// One worker's report as the scheduler reads it: views into the received payload.
struct WorkerReport {
  ps::Message msg;  // owns the payload the spans point into
  std::uint64_t pairs = 0;
  double similarity_s = 0, recommend_s = 0;
  std::span<const std::uint32_t> users, rec_count, rec_items;
  std::span<const float> rec_scores;
  EvalSums model, popularity;
  Coverage model_coverage, popularity_coverage;
  std::span<const std::uint64_t> train_ptr;
  std::span<const std::uint32_t> train_item;
  std::span<const float> train_val;
  std::span<const std::uint32_t> train_age;
};

/// Reads a report written by EncodeWorkerReport; `num_k` cutoffs.
Result<WorkerReport> DecodeWorkerReport(ps::Message msg, std::size_t num_k);

}  // namespace ecps::models::cf
