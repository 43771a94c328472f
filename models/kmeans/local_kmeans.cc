#include "models/kmeans/local_kmeans.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "models/kmeans/kernel.h"
#include "models/kmeans/random.h"

namespace ecps::models::kmeans {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double WeightedCost(const std::vector<double>& points, const std::vector<double>& weights,
                    std::size_t d, const std::vector<double>& c) {
  const std::size_t n = points.size() / d, k = c.size() / d;
  double cost = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double best = kInf;
    for (std::size_t j = 0; j < k; ++j) {
      best = std::min(best, SquaredDistance(&points[i * d], &c[j * d], d));
    }
    cost += weights[i] * best;
  }
  return cost;
}

std::vector<double> LocalTrial(const std::vector<double>& points,
                               const std::vector<double>& weights, std::size_t d, std::size_t k,
                               std::uint64_t seed, int iterations) {
  const std::size_t n = points.size() / d;
  std::uint64_t state = Mix64(seed ^ 0x6c6f63616cull);
  auto uniform = [&] {
    state += 0x9e3779b97f4a7c15ull;
    return (static_cast<double>(Mix64(state) >> 11) + 0.5) * 0x1.0p-53;
  };
  // Draws an index with probability proportional to p.
  auto draw = [&](const std::vector<double>& p) {
    const double total = std::accumulate(p.begin(), p.end(), 0.0);
    double u = uniform() * total;
    for (std::size_t i = 0; i < n; ++i) {
      if (p[i] > 0 && u < p[i]) return i;
      u -= p[i];
    }
    for (std::size_t i = n; i-- > 0;) {
      if (p[i] > 0) return i;
    }
    return std::size_t{0};
  };
  auto at = [&](std::size_t i) { return points.data() + i * d; };
  std::vector<double> c;
  std::vector<double> best(n, kInf), p(n);
  std::size_t pick = draw(weights);
  for (std::size_t j = 0; j < k; ++j) {
    c.insert(c.end(), at(pick), at(pick) + d);
    for (std::size_t i = 0; i < n; ++i) {
      best[i] = std::min(best[i], SquaredDistance(at(i), c.data() + j * d, d));
      p[i] = weights[i] * best[i];
    }
    if (j + 1 < k) {
      const bool any = std::any_of(p.begin(), p.end(), [](double v) { return v > 0; });
      pick = any ? draw(p) : (j + 1) % n;  // all candidates covered: any distinct index will do
    }
  }
  std::vector<std::size_t> label(n, 0);
  for (int it = 0; it < iterations; ++it) {
    bool moved = false;
    for (std::size_t i = 0; i < n; ++i) {
      double bd = kInf;
      std::size_t bj = 0;
      for (std::size_t j = 0; j < k; ++j) {
        const double dd = SquaredDistance(at(i), c.data() + j * d, d);
        if (dd < bd) {
          bd = dd;
          bj = j;
        }
      }
      if (it == 0 || bj != label[i]) moved = true;
      label[i] = bj;
    }
    if (!moved) break;
    std::vector<double> sum(k * d, 0.0), wsum(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t f = 0; f < d; ++f) sum[label[i] * d + f] += weights[i] * at(i)[f];
      wsum[label[i]] += weights[i];
    }
    for (std::size_t j = 0; j < k; ++j) {
      if (wsum[j] > 0) {
        for (std::size_t f = 0; f < d; ++f) c[j * d + f] = sum[j * d + f] / wsum[j];
      }
    }
  }
  return c;
}

}  // namespace

std::vector<double> LocalWeightedKMeans(const std::vector<double>& points,
                                        const std::vector<double>& weights, std::size_t d,
                                        std::size_t k, std::uint64_t seed, int iterations,
                                        int trials) {
  std::vector<double> best;
  double best_cost = kInf;
  for (int t = 0; t < trials; ++t) {
    auto c = LocalTrial(points, weights, d, k, seed + static_cast<std::uint64_t>(t), iterations);
    const double cost = WeightedCost(points, weights, d, c);
    if (best.empty() || cost < best_cost) {
      best = std::move(c);
      best_cost = cost;
    }
  }
  return best;
}

}  // namespace ecps::models::kmeans
