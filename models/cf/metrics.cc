#include "models/cf/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "util/hash.h"

namespace ecps::models::cf {

void EvalSums::Merge(const EvalSums& o) {
  users += o.users;
  auto add = [](std::vector<RankSums>& a, const std::vector<RankSums>& b) {
    if (a.size() < b.size()) a.resize(b.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
      a[i].hr += b[i].hr;
      a[i].precision += b[i].precision;
      a[i].recall += b[i].recall;
      a[i].ndcg += b[i].ndcg;
      a[i].map += b[i].map;
    }
  };
  add(full, o.full);
  add(sampled, o.sampled);
}

nlohmann::json EvalSums::ToJson(std::span<const int> ks) const {
  auto means = [&](const std::vector<RankSums>& v) {
    nlohmann::json j = nlohmann::json::object();
    const double n = users > 0 ? users : 1;
    for (std::size_t i = 0; i < ks.size() && i < v.size(); ++i) {
      j[fmt::format("HR@{}", ks[i])] = v[i].hr / n;
      j[fmt::format("precision@{}", ks[i])] = v[i].precision / n;
      j[fmt::format("recall@{}", ks[i])] = v[i].recall / n;
      j[fmt::format("NDCG@{}", ks[i])] = v[i].ndcg / n;
      j[fmt::format("MAP@{}", ks[i])] = v[i].map / n;
    }
    return j;
  };
  return {{"users", static_cast<std::uint64_t>(users)}, {"full", means(full)}, {"sampled", means(sampled)}};  // a count
}

void AddFullRanking(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> relevant,
                    std::span<const int> ks, EvalSums* sums) {
  if (relevant.empty()) return;
  for (std::size_t ki = 0; ki < ks.size(); ++ki) {
    const auto k = static_cast<std::size_t>(ks[ki]);
    double hits = 0, dcg = 0, ap = 0;
    for (std::size_t p = 0; p < k && p < ranked.size(); ++p) {
      if (!std::binary_search(relevant.begin(), relevant.end(), ranked[p])) continue;
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(p) + 2.0);
      ap += hits / static_cast<double>(p + 1);
    }
    double idcg = 0;
    const std::size_t ideal = std::min(relevant.size(), k);
    for (std::size_t p = 0; p < ideal; ++p) idcg += 1.0 / std::log2(static_cast<double>(p) + 2.0);
    RankSums& s = sums->full[ki];
    s.hr += hits > 0 ? 1.0 : 0.0;
    s.precision += hits / static_cast<double>(k);
    s.recall += hits / static_cast<double>(relevant.size());
    s.ndcg += dcg / idcg;
    s.map += ap / static_cast<double>(ideal);
  }
}

void AddSampled(std::span<const std::uint32_t> ranks_above, std::span<const int> ks, EvalSums* sums) {
  if (ranks_above.empty()) return;
  const double n = static_cast<double>(ranks_above.size());
  for (std::size_t ki = 0; ki < ks.size(); ++ki) {
    const auto k = static_cast<std::uint32_t>(ks[ki]);
    RankSums& s = sums->sampled[ki];
    for (std::uint32_t r : ranks_above) {
      if (r >= k) continue;
      s.hr += 1.0 / n;
      s.precision += 1.0 / (n * k);
      s.recall += 1.0 / n;
      s.ndcg += 1.0 / (n * std::log2(static_cast<double>(r) + 2.0));
      s.map += 1.0 / (n * (r + 1.0));
    }
  }
}

void SampleNegatives(std::uint64_t seed, std::uint32_t user, std::uint32_t n_items,
                     std::span<const std::uint32_t> interacted, std::size_t count,
                     std::vector<std::uint32_t>* out) {
  out->clear();
  const auto inside = static_cast<std::size_t>(std::lower_bound(interacted.begin(), interacted.end(), n_items) -
                                               interacted.begin());
  const std::size_t available = n_items - std::min<std::size_t>(n_items, inside);
  count = std::min(count, available);
  std::uint64_t state = util::MixId(seed * 0x9E3779B97F4A7C15ULL ^ util::MixId(user + 1));
  std::unordered_set<std::uint32_t> picked;
  while (out->size() < count) {
    state += 0x9E3779B97F4A7C15ULL;  // SplitMix64
    const std::uint64_t r = util::MixId(state);
    const auto item = static_cast<std::uint32_t>(util::HashToBucket(r, n_items));
    if (std::binary_search(interacted.begin(), interacted.end(), item)) continue;
    if (!picked.insert(item).second) continue;
    out->push_back(item);
  }
}

void Coverage::Merge(const Coverage& o) {
  if (bits.size() < o.bits.size()) bits.resize(o.bits.size(), 0);
  for (std::size_t i = 0; i < o.bits.size(); ++i) bits[i] |= o.bits[i];
}

std::uint64_t Coverage::Count() const {
  std::uint64_t n = 0;
  for (auto b : bits) n += static_cast<std::uint64_t>(std::popcount(b));
  return n;
}

}  // namespace ecps::models::cf
