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

ItemScores::ItemScores(std::uint32_t n_items) : num_(n_items, 0.0), den_(n_items, 0.0), mark_(n_items, 0) {}

void ItemScores::Finish(Scoring scoring) {
  if (scoring != Scoring::kAverage) return;
  for (std::uint32_t j : touched_) num_[j] = den_[j] > 0 ? num_[j] / den_[j] : 0.0;
}

void ItemScores::Clear() {
  for (std::uint32_t j : touched_) {
    num_[j] = 0;
    den_[j] = 0;
    mark_[j] = 0;
  }
  touched_.clear();
}

void ItemScores::Top(std::size_t n, std::span<const std::uint32_t> seen, const Popularity& pop, bool fill,
                     std::vector<cf::Scored>* out) const {
  out->clear();
  std::vector<std::uint32_t> cand;
  cand.reserve(touched_.size());
  for (std::uint32_t j : touched_) {
    if (!Contains(seen, j)) cand.push_back(j);
  }
  auto before = [&](std::uint32_t a, std::uint32_t b) { return Before(a, b, pop); };
  if (cand.size() > n) {
    std::nth_element(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(n), cand.end(), before);
    cand.resize(n);
  }
  std::sort(cand.begin(), cand.end(), before);
  for (std::uint32_t j : cand) out->push_back({j, num_[j]});
  if (!fill) return;
  for (std::size_t r = 0; r < pop.order.size() && out->size() < n; ++r) {
    const std::uint32_t j = pop.order[r];
    if (!mark_[j] && !Contains(seen, j)) out->push_back({j, 0.0});
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
