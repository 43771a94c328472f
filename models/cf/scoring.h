// Scoring items for one user from neighbour lists, and the popularity order used as a
// baseline and as the tie-break.
//
// Item-based: score(u, j) = sum over the user's items i that list j as a neighbour of
// sim(i, j) * x_ui. User-based: score(u, j) = sum over the user's neighbours v that have j
// of sim(u, v) * x_vj. Scoring "sum" keeps that weighted sum (best for implicit feedback:
// an item close to many of the user's items ranks high); "average" divides by the sum of
// the similarities involved (a predicted rating, for explicit feedback).
//
// Ranking: items with a score come first, by score; ties, and the items without a score,
// follow popularity (training interactions, more first), then the smaller index. The same
// order is used for the top-N lists, the full-ranking metrics and the sampled protocol.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <cereal/types/vector.hpp>

#include "ps/status.h"

namespace ecps::models::cf {

enum class Scoring { kSum, kAverage };

const char* ScoringName(Scoring s);

/// Neighbour lists of every entity, best first, at most k each; only real neighbours are
/// stored (CSR: entity e's list is id/score[ptr[e], ptr[e + 1])). Built by Add() in
/// increasing entity order and Finish().
struct NeighborLists {
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;  ///< an empty slot in a dense row
  std::uint32_t k = 0;
  std::vector<std::uint64_t> ptr{0};
  std::vector<std::uint32_t> id;
  std::vector<float> score;

  std::size_t size() const { return ptr.empty() ? 0 : ptr.size() - 1; }
  std::span<const std::uint32_t> Ids(std::size_t e) const {
    return {id.data() + ptr[e], ptr[e + 1] - ptr[e]};
  }
  std::span<const float> Scores(std::size_t e) const {
    return {score.data() + ptr[e], ptr[e + 1] - ptr[e]};
  }
  /// Appends a neighbour to entity e's list; e is never below an earlier call's, and the
  /// entities skipped get empty lists.
  void Add(std::size_t e, std::uint32_t neighbor, float s) {
    while (ptr.size() <= e) ptr.push_back(id.size());
    id.push_back(neighbor);
    score.push_back(s);
  }
  /// Closes the lists at n entities.
  void Finish(std::size_t n) {
    while (ptr.size() <= n) ptr.push_back(id.size());
  }
  template <class A>
  void serialize(A& ar) { ar(k, ptr, id, score); }
};

/// Training interactions per item and the resulting order (count desc, index asc).
struct Popularity {
  std::vector<std::uint32_t> count;
  std::vector<std::uint32_t> order;  ///< items, most popular first
  std::vector<std::uint32_t> rank;   ///< position of each item in `order`
  static Popularity From(std::vector<std::uint32_t> counts);
};

struct Scored {
  std::uint32_t item = 0;
  double score = 0;
};

/// One user's item scores (a per-thread scratch: dense over items, cleared through the list of
/// touched items, so a user costs its own work and no allocation once the scratch has grown).
class ItemScores {
 public:
  explicit ItemScores(std::uint32_t n_items);
  /// Adds `value * sim` to the item's score and |sim| to its normaliser.
  void Add(std::uint32_t item, double sim, double value) {
    Slot& s = slot_[item];
    if (!s.mark) {
      s.mark = 1;
      touched_.push_back(item);
    }
    s.num += sim * value;
    s.den += sim < 0 ? -sim : sim;
  }
  /// Applies the scoring rule; call once after the Adds.
  void Finish(Scoring scoring);
  bool Scored(std::uint32_t item) const { return slot_[item].mark != 0; }
  double Score(std::uint32_t item) const { return slot_[item].num; }
  /// True when `a` ranks before `b` (see the file comment).
  bool Before(std::uint32_t a, std::uint32_t b, const Popularity& pop) const {
    const Slot &x = slot_[a], &y = slot_[b];
    if (x.mark != y.mark) return x.mark > y.mark;
    if (x.num != y.num) return x.num > y.num;
    return pop.rank[a] < pop.rank[b];
  }
  /// The best `n` items not in `seen` (sorted ascending); after the scored items, fills with
  /// popular items when `fill`. A partial selection: O(touched + n log n) comparisons, and
  /// `seen` is searched only for items that would enter the list.
  void Top(std::size_t n, std::span<const std::uint32_t> seen, const Popularity& pop, bool fill,
           std::vector<cf::Scored>* out) const;
  /// Back to all-unscored.
  void Clear();
  std::size_t touched() const { return touched_.size(); }

 private:
  struct Slot {  // one cache access per Add
    double num = 0, den = 0;
    std::uint64_t mark = 0;
  };
  std::vector<Slot> slot_;
  std::vector<std::uint32_t> touched_;
  mutable std::vector<std::uint32_t> best_;  // Top's heap
};

/// The weight of each of a user's items when scoring: its value (1 when `values` is empty)
/// times decay^age (`ages` may be empty when decay is 1). Leaves `out` empty (all 1) for
/// implicit data without decay.
void UserItemWeights(std::span<const float> values, std::span<const std::uint32_t> ages, double decay,
                     std::vector<float>* out);

/// Content-based neighbour lists mixed into item-based scores: a cold item (fewer than
/// `cold_threshold` training interactions) contributes its content neighbours only; a warm
/// item its CF neighbours weighted 1 - blend and its content neighbours weighted blend.
struct ContentMix {
  const NeighborLists* content = nullptr;
  std::span<const std::uint32_t> item_count;
  std::uint32_t cold_threshold = 0;
  double blend = 0;
  bool Cold(std::uint32_t item) const { return content && item_count[item] < cold_threshold; }
};

/// Item-based: adds the user's items' neighbour lists (`items` with weights `values`,
/// empty = 1), and their content lists when `mix` is given.
void ScoreFromItems(std::span<const std::uint32_t> items, std::span<const float> values,
                    const NeighborLists& neighbors, ItemScores* scores, const ContentMix* mix = nullptr);

/// User-based: adds one neighbour's items (`items` with `values`) weighted by `sim`.
inline void ScoreFromUser(std::span<const std::uint32_t> items, std::span<const float> values, double sim,
                          ItemScores* scores) {
  for (std::size_t t = 0; t < items.size(); ++t) scores->Add(items[t], sim, values.empty() ? 1.0 : values[t]);
}

/// The `n` most popular items not in `seen` (sorted ascending); scores are the counts.
void PopularTop(std::size_t n, std::span<const std::uint32_t> seen, const Popularity& pop,
                std::vector<Scored>* out);

inline bool Contains(std::span<const std::uint32_t> sorted, std::uint32_t x) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), x);
  return it != sorted.end() && *it == x;
}

}  // namespace ecps::models::cf
