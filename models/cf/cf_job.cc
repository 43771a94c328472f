#include "models/cf/cf_job.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "models/cf/checkpoint.h"
#include "models/cf/ingest_job.h"
#include "models/cf/model_job.h"
#include "models/cf/train_state.h"
#include "ps/stopwatch.h"

namespace ecps::models::cf {

// Not under AddressSanitizer, whose allocator is not glibc's (malloc_trim there crashes
// about one run in 20).
#if defined(__SANITIZE_ADDRESS__)
#define ECPS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ECPS_ASAN 1
#endif
#endif
#ifdef ECPS_ASAN
void ReleaseFreeMemory() {}
#else
// With several worker threads the peak would otherwise be the sum of every thread's peak
// rather than the live data.
void ReleaseFreeMemory() { malloc_trim(0); }
#endif

Result<Settings> ResolveSettings(CfOptions* options) {
  CfOptions& o = *options;
  ECPS_RETURN_IF_ERROR(o.Validate());
  Settings s;
  ECPS_ASSIGN_OR_RETURN(s.format,
                        worker::DetectInteractionFormat(o.train, {o.header, o.delimiter, o.columns}));
  if (o.feedback == Feedback::kExplicit && !s.format.has_rating()) {
    return InvalidArgument(fmt::format("--feedback explicit: {} has no rating column ({})", o.train,
                                       s.format.Describe()));
  }
  // The defaults serve top-N lists: auto reads a rating column only where the similarity
  // centres ratings, and only --feedback explicit predicts ratings (scoring average).
  const bool rate = o.feedback == Feedback::kExplicit;
  s.explicit_ratings = rate || (o.feedback == Feedback::kAuto && s.format.has_rating() &&
                                NeedsRatings(o.similarity));
  o.feedback = s.explicit_ratings ? Feedback::kExplicit : Feedback::kImplicit;
  s.split.kind = o.split;
  s.split.target = o.evaluate_on;
  s.split.holdout_fraction = o.holdout_fraction;
  s.split.min_user_interactions = o.min_user_interactions;
  s.split.seed = o.seed;
  s.sim.measure = o.similarity;
  if (NeedsRatings(s.sim.measure) && !s.explicit_ratings) {
    return InvalidArgument(
        fmt::format("--similarity {} centres ratings, but the feedback is implicit ({}: {}); use "
                    "cosine or jaccard, or give a file with a rating column",
                    SpellingOf(kMeasures, o.similarity), o.train, s.format.Describe()));
  }
  s.sim.k = static_cast<std::size_t>(o.neighbors);
  s.sim.shrinkage = o.shrinkage;
  s.sim.min_support = static_cast<std::uint32_t>(o.min_support);
  s.sim.binary = !s.explicit_ratings || s.sim.measure == Measure::kJaccard;
  if (o.scoring == ScoringChoice::kAuto) {
    o.scoring = rate ? ScoringChoice::kAverage : ScoringChoice::kSum;
  }
  s.scoring = o.scoring == ScoringChoice::kAverage ? Scoring::kAverage : Scoring::kSum;
  s.evaluate = s.split.kind != SplitKind::kNone;
  s.max_k = *std::max_element(o.metrics_k.begin(), o.metrics_k.end());
  if (o.dp.enabled()) {
    if (s.explicit_ratings) {
      return InvalidArgument(
          "--feedback explicit: not under --dp-epsilon (a private run counts co-occurrences of "
          "items: implicit feedback)");
    }
    ECPS_ASSIGN_OR_RETURN(s.catalogue, LoadDpCatalogue(o.dp.items));
    if (s.catalogue->ids.size() >= NeighborLists::kNone) {
      return InvalidArgument(fmt::format("--dp-items {}: more than 2^32 - 1 items", o.dp.items));
    }
    ECPS_RETURN_IF_ERROR(
        CheckDpMatrixMemory(s.catalogue->ids.size(), PhysicalMemoryBytes(), o.dp.items));
    ECPS_ASSIGN_OR_RETURN(s.dp, PlanDpCf(o.dp, s.catalogue->ids.size()));
  }
  return s;
}

// The fewest blocks that still give every worker about two tasks (B(B+1)/2 >= 2W), no wider
// than 65536 entities (a block-wide accumulator stays in the cache). Every task walks all
// the contexts of its row block, so more blocks than that only add work; each task already
// uses every core of its process.
std::uint64_t DefaultBlockSize(std::uint64_t n, int workers, std::uint64_t requested) {
  if (requested > 0) return requested;
  std::uint64_t blocks = 1;
  while (blocks * (blocks + 1) / 2 < 2 * static_cast<std::uint64_t>(workers)) ++blocks;
  std::uint64_t size = (n + blocks - 1) / blocks;
  return std::max<std::uint64_t>(1, std::min<std::uint64_t>(size, 65536));
}

Status CfOptions::Validate() const {
  if (train.empty()) return InvalidArgument("--train: an interaction file is required");
  if (out.empty()) return InvalidArgument("--out: an output folder is required");
  if (neighbors < 1 || neighbors > 10000)
    return InvalidArgument(fmt::format("--neighbors must be in [1, 10000], got {}", neighbors));
  if (top_n < 0) return InvalidArgument(fmt::format("-n must be >= 0, got {}", top_n));
  if (!(shrinkage >= 0))
    return InvalidArgument(fmt::format("--shrinkage must be >= 0, got {}", shrinkage));
  if (min_support < 1)
    return InvalidArgument(fmt::format("--min-support must be >= 1, got {}", min_support));
  if (!(holdout_fraction > 0 && holdout_fraction < 1)) {
    return InvalidArgument(
        fmt::format("--holdout-fraction must be in (0, 1), got {}", holdout_fraction));
  }
  if (min_user_interactions < 2) {
    return InvalidArgument(
        fmt::format("--min-user-interactions must be >= 2, got {}", min_user_interactions));
  }
  if (metrics_k.empty()) return InvalidArgument("--metrics-k: at least one cutoff");
  for (int k : metrics_k) {
    if (k < 1) return InvalidArgument(fmt::format("--metrics-k: cutoffs must be >= 1, got {}", k));
  }
  if (sampled_negatives < 1) return InvalidArgument("--sampled-negatives must be >= 1");
  if (!item_attributes.empty() && !item_based()) {
    return InvalidArgument("--item-attributes: content-based similarity is for itemcf");
  }
  if (!item_text.empty() && !item_based()) {
    return InvalidArgument("--item-text: text similarity is for itemcf");
  }
  if (!(text_weight >= 0 && text_weight <= 1)) {
    return InvalidArgument(fmt::format("--text-weight must be in [0, 1], got {}", text_weight));
  }
  if (cold_threshold < 0)
    return InvalidArgument(fmt::format("--cold-threshold must be >= 0, got {}", cold_threshold));
  if (!(content_blend >= 0 && content_blend <= 1)) {
    return InvalidArgument(fmt::format("--content-blend must be in [0, 1], got {}", content_blend));
  }
  if (numeric_bands < 1)
    return InvalidArgument(fmt::format("--numeric-bands must be >= 1, got {}", numeric_bands));
  if (!(recency_decay > 0 && recency_decay <= 1)) {
    return InvalidArgument(fmt::format("--recency-decay must be in (0, 1], got {}", recency_decay));
  }
  ECPS_RETURN_IF_ERROR(ValidateDp());
  if (encrypt != nullptr && (checkpoint.writes() || checkpoint.resume)) {
    return InvalidArgument(
        "--checkpoint-dir/--resume: not with --encrypt-key (checkpoints hold the interactions "
        "unsealed)");
  }
  return checkpoint.Validate(out);
}

Status CfOptions::ValidateDp() const {
  if (!dp.enabled()) return Status::Ok();
  const auto refuse = [](const std::string& option, const std::string& why) {
    return InvalidArgument(fmt::format("{}: not under --dp-epsilon ({})", option, why));
  };
  if (!item_based()) {
    return InvalidArgument(
        "--dp-epsilon: differential privacy is for itemcf only (usercf's model is a neighbour "
        "list per user, each made of that user's own data)");
  }
  if (dp.items.empty()) {
    return InvalidArgument(
        "--dp-epsilon needs --dp-items FILE: the public item catalogue, one id per line (the "
        "items found in the data would otherwise leak into the model)");
  }
  if (!(dp.delta > 0 && dp.delta < 1)) {
    return InvalidArgument(fmt::format("--dp-delta must be in (0, 1), got {}", dp.delta));
  }
  if (dp.max_items < 1) {
    return InvalidArgument(fmt::format("--dp-max-items must be >= 1, got {}", dp.max_items));
  }
  if (similarity != Measure::kCosine && similarity != Measure::kJaccard) {
    return refuse(fmt::format("--similarity {}", SpellingOf(kMeasures, similarity)),
                  "cosine or jaccard of the noisy co-occurrence counts");
  }
  if (min_support != 1) {
    return refuse("--min-support", "co-support is a raw count; the noisy counts' floor takes "
                                   "its place");
  }
  if (!item_attributes.empty() || !item_text.empty()) {
    return refuse(item_attributes.empty() ? "--item-text" : "--item-attributes",
                  "cold items are told apart by their raw interaction counts");
  }
  if (checkpoint.writes() || checkpoint.resume) {
    return refuse("--checkpoint-dir/--resume", "checkpoints hold the raw interactions");
  }
  return Status::Ok();
}

nlohmann::json CfOptions::ToJson() const {
  auto text = [](std::string_view spelling) { return std::string(spelling); };
  return {{"train", train},
          {"similarity", text(SpellingOf(kMeasures, similarity))},
          {"neighbors", neighbors},
          {"n", top_n},
          {"shrinkage", shrinkage},
          {"min_support", min_support},
          {"block_size", block_size},
          {"scoring", text(SpellingOf(kScorings, scoring))},
          {"fill_popular", fill_popular},
          {"recency_decay", recency_decay},
          {"feedback", text(SpellingOf(kFeedbacks, feedback))},
          {"split", text(SpellingOf(kSplitKinds, split))},
          {"evaluate_on", text(SpellingOf(kEvalTargets, evaluate_on))},
          {"holdout_fraction", holdout_fraction},
          {"min_user_interactions", min_user_interactions},
          {"metrics_k", metrics_k},
          {"sampled_negatives", sampled_negatives},
          {"seed", seed}};
}

std::uint64_t NeighborListBytes(std::uint64_t entities, std::uint64_t content_items,
                                std::uint64_t k, int workers, std::uint64_t block) {
  const std::uint64_t slot = 2 * sizeof(double);
  const auto w = static_cast<std::uint64_t>(std::max(workers, 1));
  return (entities + content_items) * k * slot + w * 2 * std::min(block, entities) * k * slot;
}

std::uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

Status TrainCf(const CfOptions& given, const ClusterRunner& run) {
  CfOptions options = given;
  ECPS_ASSIGN_OR_RETURN(const Settings settings, ResolveSettings(&options));
  RankStates states;
  const ps::Stopwatch training_time;
  ECPS_RETURN_IF_ERROR(run([&](ps::Rank rank) -> std::shared_ptr<sched::Job> {
    auto state = states.Get(rank);
    state->since_start = training_time;
    if (options.checkpoint.resume) return std::make_shared<ResumeJob>(options, state);
    return std::make_shared<IngestJob>(options, settings, state);
  }));
  states.ForEach([&](RankState& state) { state.ingest_s = training_time.Seconds(); });
  return run([&](ps::Rank rank) {
    return std::make_shared<ModelJob>(options, settings, states.Get(rank));
  });
}

}  // namespace ecps::models::cf
