// What the two training jobs of cf_job.h share inside one process: the options resolved
// against the interaction file, and each rank's state from ingest to the model job.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cf/attributes.h"
#include "models/cf/cf_job.h"
#include "models/cf/scoring.h"
#include "models/cf/similarity.h"
#include "models/cf/split.h"
#include "ps/status.h"
#include "ps/stopwatch.h"
#include "ps/traffic.h"
#include "worker/interactions.h"

namespace ecps::models::cf {

/// What the options resolve to against the interaction file (its format and columns).
struct Settings {
  worker::InteractionFormat format;
  /// Ratings are used: --feedback explicit, or auto with a rating column.
  bool explicit_ratings = false;
  SplitOptions split;
  SimilarityOptions sim;
  Scoring scoring = Scoring::kSum;
  /// A split holds out items to evaluate on.
  bool evaluate = false;
  /// The largest --metrics-k.
  int max_k = 0;
  /// A private run (--dp-epsilon): the catalogue whose items are the model's (rows of other
  /// items are dropped as they are read), and the noise; null / unset otherwise.
  std::shared_ptr<const DpCatalogue> catalogue;
  DpCfPlan dp;
};

/// Validates `*options` and resolves them against the file (its header and columns); sets
/// the autos of `*options` (feedback, scoring) to what they resolve to.
Result<Settings> ResolveSettings(CfOptions* options);

/// Entities per similarity block: `requested`, or when 0 the fewest blocks that give each
/// worker about two tasks, at most 65536 entities wide.
std::uint64_t DefaultBlockSize(std::uint64_t n, int workers, std::uint64_t requested);

/// Gives memory freed by this thread's large buffers back to the system (glibc keeps freed
/// blocks in per-thread arenas). A no-op under AddressSanitizer.
void ReleaseFreeMemory();

/// A worker's own users (ascending) and their interactions, as CSR arrays.
struct OwnUsers {
  std::vector<std::uint32_t> users;
  std::vector<std::uint64_t> train_ptr{0};
  std::vector<std::uint32_t> train_item;  // ascending within a user
  std::vector<float> train_val;           // empty for implicit feedback
  std::vector<std::uint32_t> train_age;   // 0 = the user's latest training interaction
  std::vector<std::uint64_t> target_ptr{0};
  std::vector<std::uint32_t> target_item;
  /// The targets' ratings (explicit feedback only; mf's rating evaluation reads them). Not in
  /// checkpoints: no model that checkpoints reads them.
  std::vector<float> target_val;
  std::vector<std::uint64_t> dropped_ptr{0};
  std::vector<std::uint32_t> dropped_item;

  std::size_t size() const { return users.size(); }
  std::span<const std::uint32_t> Train(std::size_t p) const {
    return {train_item.data() + train_ptr[p], train_ptr[p + 1] - train_ptr[p]};
  }
  std::span<const float> Values(std::size_t p) const {
    if (train_val.empty()) return {};
    return {train_val.data() + train_ptr[p], train_ptr[p + 1] - train_ptr[p]};
  }
  std::span<const std::uint32_t> Ages(std::size_t p) const {
    if (train_age.empty()) return {};
    return {train_age.data() + train_ptr[p], train_ptr[p + 1] - train_ptr[p]};
  }
  std::span<const std::uint32_t> Targets(std::size_t p) const {
    return {target_item.data() + target_ptr[p], target_ptr[p + 1] - target_ptr[p]};
  }
  std::span<const float> TargetValues(std::size_t p) const {
    if (target_val.empty()) return {};
    return {target_val.data() + target_ptr[p], target_ptr[p + 1] - target_ptr[p]};
  }
  std::span<const std::uint32_t> Dropped(std::size_t p) const {
    return {dropped_item.data() + dropped_ptr[p], dropped_ptr[p + 1] - dropped_ptr[p]};
  }
  template <class A>
  void serialize(A& ar) {
    ar(users, train_ptr, train_item, train_val, train_age, target_ptr, target_item, dropped_ptr,
       dropped_item);
  }
};

class CfCheckpoints;

/// One rank's state: written by the ingest job, read by the model job.
struct RankState {
  /// Since the start of training (for metrics.json's timings).
  ps::Stopwatch since_start;
  double ingest_s = 0;
  // Every rank after ingest (workers and the scheduler; servers get the sizes only).
  std::uint32_t n_users = 0, n_items = 0;
  std::uint64_t nnz = 0;
  /// Entity-major matrix offsets (n_entities + 1).
  std::vector<std::uint64_t> ptr;
  /// Training interactions per item (popularity).
  std::vector<std::uint32_t> item_count;
  /// Item attributes as binary features (itemcf with attributes).
  ItemFeatures features;
  // Workers.
  OwnUsers own;
  /// This worker's entities with training entries, and where their entries go in cf.matrix.
  std::vector<std::uint32_t> entities;
  std::vector<std::uint64_t> offsets;
  // Scheduler.
  std::vector<std::string> user_ids, item_ids;
  /// metrics.json's "data" section.
  nlohmann::json data;
  /// Every rank's traffic in the ingest (or resume) job, added to the model job's in
  /// metrics.json's "transport".
  std::vector<ps::RankTraffic> ingest_traffic;
  /// Checkpoints (checkpoint.h); null without --checkpoint-dir or --resume.
  std::shared_ptr<CfCheckpoints> checkpoints;
  // Workers of a resumed run: their share of the merged tasks' candidate pairs, and their
  // saved slices of cf.neighbors and cf.content (encoded).
  std::uint64_t resume_pairs = 0;
  std::vector<std::string> resume_slices;

  std::uint32_t n_entities(bool item_based) const { return item_based ? n_items : n_users; }
  std::uint32_t n_contexts(bool item_based) const { return item_based ? n_users : n_items; }
};

/// Each rank's state (one entry per rank: a thread in single-node mode, this process under
/// MPI), made on first use.
class RankStates {
 public:
  std::shared_ptr<RankState> Get(int rank) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& state = states_[rank];
    if (!state) state = std::make_shared<RankState>();
    return state;
  }
  void ForEach(const std::function<void(RankState&)>& f) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [rank, state] : states_) f(*state);
  }

 private:
  std::mutex mu_;
  std::map<int, std::shared_ptr<RankState>> states_;
};

}  // namespace ecps::models::cf
