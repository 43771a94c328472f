#include "models/cf/dp.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "models/cf/topk.h"
#include "models/kmeans/random.h"
#include "privacy/rdp_accountant.h"

namespace ecps::models::cf {

Result<std::shared_ptr<const DpCatalogue>> LoadDpCatalogue(const std::string& path) {
  std::ifstream in(path);
  if (!in) return IoError(fmt::format("--dp-items: cannot open {}", path));
  auto c = std::make_shared<DpCatalogue>();
  std::string line;
  for (std::uint64_t n = 1; std::getline(in, line); ++n) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    std::string id = line.substr(b, e - b + 1);
    if (!c->set.insert(id).second) {
      return DataError(fmt::format("--dp-items {}:{}: item \"{}\" is listed twice", path, n, id));
    }
    c->ids.push_back(std::move(id));
  }
  if (in.bad()) return IoError(fmt::format("--dp-items: reading {} failed", path));
  if (c->ids.empty()) {
    return DataError(fmt::format("--dp-items {}: no item ids (one per line: the shop's catalogue)",
                                 path));
  }
  return std::shared_ptr<const DpCatalogue>(std::move(c));
}

Status CheckDpMatrixMemory(std::uint64_t items, std::uint64_t memory, const std::string& path) {
  const std::uint64_t bytes = DpMatrixBytes(items);
  if (memory == 0 || bytes <= memory / 2) return Status::Ok();
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  return InvalidArgument(fmt::format(
      "--dp-items {}: {} items need a dense noisy co-occurrence triangle of {} entries, about "
      "{:.1f} GiB with the servers' and workers' copies, more than half of this machine's "
      "{:.1f} GiB: give a smaller catalogue",
      path, items, TriangleKeys(items), bytes / kGiB, memory / kGiB));
}

double DpThresholdSigmas(std::uint64_t items) {
  const double tail = 0.01 / static_cast<double>(std::max<std::uint64_t>(items, 1));
  double lo = 0, hi = 40;  // P(N(0, 1) > z) = erfc(z / sqrt 2) / 2 falls with z
  for (int step = 0; step < 100; ++step) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > tail ? lo : hi) = mid;
  }
  return std::max(3.0, hi);
}

Result<DpCfPlan> PlanDpCf(const DpCfOptions& options, std::uint64_t items) {
  privacy::NoiseRequest request;
  request.epsilon = options.epsilon;
  request.delta = options.delta;
  request.sample_rate = 1;  // every user's contribution is in the one release
  request.steps = 1;
  auto sigma = privacy::FindNoiseMultiplier(request);
  if (!sigma.ok()) {
    return InvalidArgument(fmt::format("--dp-epsilon {} --dp-delta {}: {}; raise --dp-epsilon",
                                       options.epsilon, options.delta,
                                       sigma.status().message()));
  }
  DpCfPlan plan;
  plan.epsilon = options.epsilon;
  plan.delta = options.delta;
  plan.sigma = *sigma;
  plan.max_items = options.max_items;
  plan.items = items;
  plan.threshold_sigmas = DpThresholdSigmas(items);
  plan.test_seed = options.test_seed.has_value();
  return plan;
}

std::vector<std::uint32_t> BoundedItems(std::span<const std::uint32_t> items, int max_items,
                                        std::uint64_t seed) {
  const auto m = static_cast<std::size_t>(std::max(max_items, 0));
  if (items.size() <= m) return {items.begin(), items.end()};
  std::uint64_t user = kmeans::Mix64(seed + 0x632be59bd9b4e019ull);
  for (auto i : items) user = kmeans::Mix64(user ^ (i + 0x9e3779b97f4a7c15ull));
  std::vector<std::pair<std::uint64_t, std::uint32_t>> keyed;
  keyed.reserve(items.size());
  for (auto i : items) keyed.emplace_back(kmeans::Mix64(user ^ kmeans::Mix64(i)), i);
  std::nth_element(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(m), keyed.end());
  std::vector<std::uint32_t> kept;
  kept.reserve(m);
  for (std::size_t t = 0; t < m; ++t) kept.push_back(keyed[t].second);
  std::sort(kept.begin(), kept.end());
  return kept;
}

double DpUserWeight(std::size_t n) {
  if (n == 0) return 0;
  const double entries = static_cast<double>(n) * static_cast<double>(n + 1) / 2;
  return 1.0 / std::sqrt(entries);
}

void AddDpContribution(std::span<const std::uint32_t> kept, std::uint64_t n_items,
                       std::vector<std::pair<std::uint64_t, double>>* out) {
  const double w = DpUserWeight(kept.size());
  for (std::size_t a = 0; a < kept.size(); ++a) {
    for (std::size_t b = a; b < kept.size(); ++b) {
      out->emplace_back(TriangleKey(kept[a], kept[b], n_items), w);
    }
  }
}

void CombineDpEntries(std::vector<std::pair<std::uint64_t, double>>* entries,
                      std::vector<std::uint64_t>* keys, std::vector<double>* values) {
  // Stable: a key's weights are added in the order of the users, the same on every run.
  std::stable_sort(entries->begin(), entries->end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  keys->clear();
  values->clear();
  for (const auto& [key, w] : *entries) {
    if (!keys->empty() && keys->back() == key) {
      values->back() += w;
    } else {
      keys->push_back(key);
      values->push_back(w);
    }
  }
}

std::pair<std::uint32_t, std::uint32_t> DpRowShare(std::uint32_t n, int workers, int index) {
  const std::uint64_t total = TriangleKeys(n);
  // The first row whose start key is at least total * w / W.
  auto row_at = [&](int w) -> std::uint32_t {
    if (w >= workers) return n;
    const std::uint64_t target = total * static_cast<std::uint64_t>(w) /
                                 static_cast<std::uint64_t>(workers);
    std::uint32_t lo = 0, hi = n;
    while (lo < hi) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      if (TriangleKey(mid, mid, n) >= target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  };
  return {row_at(index), row_at(index + 1)};
}

std::uint64_t DpNeighborRows(std::span<const double> entries, std::uint32_t first,
                             std::uint32_t end, std::span<const double> diag, Measure measure,
                             double shrinkage, double floor, std::size_t k,
                             std::vector<double>* rows) {
  const auto n = static_cast<std::uint32_t>(diag.size());
  std::vector<std::vector<Neighbor>> cand(n);
  std::uint64_t pairs = 0;
  std::size_t at = 0;
  for (std::uint32_t i = first; i < end; ++i) {
    const double di = std::max(diag[i], floor);
    ++at;  // the diagonal entry
    for (std::uint32_t j = i + 1; j < n; ++j, ++at) {
      const double c = entries[at];
      if (!(c > floor)) continue;
      const double dj = std::max(diag[j], floor);
      double s = measure == Measure::kJaccard ? c / std::max(di + dj - c, floor)
                                              : c / std::sqrt(di * dj);
      if (shrinkage > 0) s *= c / (c + shrinkage);
      cand[i].push_back({j, s});
      cand[j].push_back({i, s});
      ++pairs;
    }
  }
  rows->assign(static_cast<std::size_t>(n) * 2 * k, 0.0);
  for (std::uint32_t e = 0; e < n; ++e) {
    SelectTopK(&cand[e], k);
    EncodeRow(cand[e], k, rows->data() + static_cast<std::size_t>(e) * 2 * k);
  }
  return pairs;
}

std::vector<std::uint32_t> DpPopularity(std::span<const double> diag) {
  std::vector<std::uint32_t> count(diag.size());
  constexpr double kMax = std::numeric_limits<std::uint32_t>::max();
  for (std::size_t i = 0; i < diag.size(); ++i) {
    count[i] = static_cast<std::uint32_t>(std::clamp(std::round(diag[i] * 1000), 0.0, kMax));
  }
  return count;
}

nlohmann::json DpCfPrivacyJson(const DpCfPlan& plan) {
  return {{"epsilon", plan.epsilon},
          {"delta", plan.delta},
          {"noise_multiplier", plan.sigma},
          {"sigma", plan.sigma},
          {"sensitivity", 1.0},
          {"max_items", plan.max_items},
          {"user_weight", "1 / sqrt(n (n + 1) / 2), n = the user's counted items"},
          {"catalogue_items", plan.items},
          {"noisy_entries", TriangleKeys(plan.items)},
          {"floor", plan.floor()},
          {"floor_sigmas", plan.threshold_sigmas},
          {"sample_rate", 1.0},
          {"steps", 1},
          {"neighbouring", "add/remove one user"},
          {"accountant", "rdp"},
          {"conversion", "balle"},
          {"test_seed", plan.test_seed}};
}

}  // namespace ecps::models::cf
