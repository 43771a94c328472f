// Ranking metrics, computed per user on the workers and summed into partials that the
// scheduler adds up (sums and counts: the merge is exact up to summation order).
//
// Full ranking: the model ranks every item the user has not trained on; with R the user's
// held-out items and L the ranked list,
//   HR@k        1 if L[0..k) contains an item of R
//   precision@k |L[0..k) ∩ R| / k
//   recall@k    |L[0..k) ∩ R| / |R|
//   NDCG@k      sum over hits at position p of 1/log2(p+2), divided by the same sum for a
//               perfect list (min(|R|, k) hits at the top)
//   MAP@k       sum over hits at position p of precision@(p+1), divided by min(|R|, k)
// Sampled (the protocol of Kang & McAuley 2018, SASRec): each held-out item is ranked among
// `negatives` random items the user never interacted with; with r = the number of those
// ranked above it, HR@k = [r < k], NDCG@k = [r < k] / log2(r+2), precision@k = HR@k / k,
// recall@k = HR@k, MAP@k = [r < k] / (r+1); a user's value is the mean over its held-out
// items. Catalogue coverage: the share of items appearing in at least one top-N list.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <cereal/types/vector.hpp>
#include <nlohmann/json.hpp>

namespace ecps::models::cf {

struct RankSums {
  double hr = 0, precision = 0, recall = 0, ndcg = 0, map = 0;
  template <class A>
  void serialize(A& ar) { ar(hr, precision, recall, ndcg, map); }
};

/// One method's sums over users (per cutoff k, in the order of the job's list of ks).
struct EvalSums {
  double users = 0;
  std::vector<RankSums> full, sampled;

  explicit EvalSums(std::size_t num_k = 0) : full(num_k), sampled(num_k) {}
  void Merge(const EvalSums& other);
  /// {"users": n, "full": {"HR@10": ..}, "sampled": {...}} with means over users.
  nlohmann::json ToJson(std::span<const int> ks) const;
  template <class A>
  void serialize(A& ar) { ar(users, full, sampled); }
};

/// Adds one user's full-ranking metrics: `ranked` is the user's list (at least max k long
/// unless fewer items exist), `relevant` the held-out items (sorted ascending).
void AddFullRanking(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> relevant,
                    std::span<const int> ks, EvalSums* sums);

/// Adds one user's sampled-protocol metrics: `ranks_above[t]` = number of sampled
/// negatives ranked above held-out item t.
void AddSampled(std::span<const std::uint32_t> ranks_above, std::span<const int> ks, EvalSums* sums);

/// Draws `count` distinct items from [0, n_items) that are not in `interacted` (sorted
/// ascending), from a generator seeded by (seed, user): the same on every rank. Fewer when
/// not enough items remain.
void SampleNegatives(std::uint64_t seed, std::uint32_t user, std::uint32_t n_items,
                     std::span<const std::uint32_t> interacted, std::size_t count,
                     std::vector<std::uint32_t>* out);

/// Bitset of recommended items (catalogue coverage), OR-able across workers.
struct Coverage {
  std::vector<std::uint64_t> bits;
  explicit Coverage(std::uint32_t n_items = 0) : bits((n_items + 63) / 64, 0) {}
  void Add(std::uint32_t item) { bits[item / 64] |= std::uint64_t{1} << (item % 64); }
  void Merge(const Coverage& o);
  std::uint64_t Count() const;
  template <class A>
  void serialize(A& ar) { ar(bits); }
};

}  // namespace ecps::models::cf
