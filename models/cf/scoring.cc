#include "models/cf/scoring.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace ecps::models::cf {

const char* ScoringName(Scoring s) { return s == Scoring::kSum ? "sum" : "average"; }

Popularity Popularity::From(std::vector<std::uint32_t> counts) {
  Popularity p;
  p.count = std::move(counts);
  p.order.resize(p.count.size());
  std::iota(p.order.begin(), p.order.end(), 0u);
  std::stable_sort(p.order.begin(), p.order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return p.count[a] > p.count[b]; });
  p.rank.resize(p.count.size());
  for (std::size_t r = 0; r < p.order.size(); ++r) p.rank[p.order[r]] = static_cast<std::uint32_t>(r);
  return p;
}

ItemScores::ItemScores(std::uint32_t n_items) : slot_(n_items) {}

void ItemScores::Finish(Scoring scoring) {
  if (scoring != Scoring::kAverage) return;
  for (std::uint32_t j : touched_) {
    Slot& s = slot_[j];
    s.num = s.den > 0 ? s.num / s.den : 0.0;
  }
}

void ItemScores::Clear() {
  for (std::uint32_t j : touched_) slot_[j] = Slot{};
  touched_.clear();
}

void ItemScores::Top(std::size_t n, std::span<const std::uint32_t> seen, const Popularity& pop,
                     bool fill, std::vector<cf::Scored>* out) const {
  out->clear();
  if (n == 0) return;
  // A heap of the n best so far under `before`, its worst item in front.
  auto before = [&](std::uint32_t a, std::uint32_t b) { return Before(a, b, pop); };
  best_.clear();
  for (std::uint32_t j : touched_) {
    if (best_.size() == n && !before(j, best_.front())) continue;
    if (Contains(seen, j)) continue;
    if (best_.size() == n) {
      std::pop_heap(best_.begin(), best_.end(), before);
      best_.back() = j;
    } else {
      best_.push_back(j);
    }
    std::push_heap(best_.begin(), best_.end(), before);
  }
  std::sort_heap(best_.begin(), best_.end(), before);
  for (std::uint32_t j : best_) out->push_back({j, slot_[j].num});
  if (!fill) return;
  for (std::size_t r = 0; r < pop.order.size() && out->size() < n; ++r) {
    const std::uint32_t j = pop.order[r];
    if (!slot_[j].mark && !Contains(seen, j)) out->push_back({j, 0.0});
  }
}

void UserItemWeights(std::span<const float> values, std::span<const std::uint32_t> ages, double decay,
                     std::vector<float>* out) {
  out->clear();
  if (decay >= 1.0) {
    out->assign(values.begin(), values.end());
    return;
  }
  for (std::size_t t = 0; t < ages.size(); ++t) {
    const double v = values.empty() ? 1.0 : values[t];
    out->push_back(static_cast<float>(v * std::pow(decay, static_cast<double>(ages[t]))));
  }
}

namespace {
void AddList(const NeighborLists& lists, std::uint32_t item, double weight, double value, ItemScores* scores) {
  auto ids = lists.Ids(item);
  auto sims = lists.Scores(item);
  for (std::size_t s = 0; s < ids.size(); ++s) {
    scores->Add(ids[s], sims[s] * weight, value);
  }
}
}  // namespace

void ScoreFromItems(std::span<const std::uint32_t> items, std::span<const float> values,
                    const NeighborLists& neighbors, ItemScores* scores, const ContentMix* mix) {
  for (std::size_t t = 0; t < items.size(); ++t) {
    const double value = values.empty() ? 1.0 : values[t];
    if (t + 1 < items.size()) {  // the lists are far apart in memory: fetch the next one early
      __builtin_prefetch(neighbors.id.data() + neighbors.ptr[items[t + 1]]);
      __builtin_prefetch(neighbors.score.data() + neighbors.ptr[items[t + 1]]);
    }
    if (!mix || !mix->content) {
      AddList(neighbors, items[t], 1.0, value, scores);
      continue;
    }
    const bool cold = mix->Cold(items[t]);
    const double cf_weight = cold ? 0.0 : 1.0 - mix->blend;
    const double content_weight = cold ? 1.0 : mix->blend;
    if (cf_weight > 0) AddList(neighbors, items[t], cf_weight, value, scores);
    if (content_weight > 0) AddList(*mix->content, items[t], content_weight, value, scores);
  }
}

void PopularTop(std::size_t n, std::span<const std::uint32_t> seen, const Popularity& pop,
                std::vector<Scored>* out) {
  out->clear();
  for (std::size_t r = 0; r < pop.order.size() && out->size() < n; ++r) {
    const std::uint32_t j = pop.order[r];
    if (!Contains(seen, j)) out->push_back({j, static_cast<double>(pop.count[j])});
  }
}

}  // namespace ecps::models::cf
