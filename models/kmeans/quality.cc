#include "models/kmeans/quality.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <immintrin.h>

#include <tbb/parallel_for.h>

#include "models/kmeans/kernel.h"

namespace ecps::models::kmeans {

namespace {

// dist[p] = |x - col_p|^2 for the n points stored by column (cols[f * n + p]), each as
// SquaredDistance sums it (fma over f in order), so the bits are those of the row form.
__attribute__((always_inline)) inline void SquaresByColumn(const double* x, const double* cols,
                                                          std::size_t n, std::size_t d,
                                                          double* dist) {
  std::fill(dist, dist + n, 0.0);
  for (std::size_t f = 0; f < d; ++f) {
    const double xf = x[f];
    const double* col = cols + f * n;
    for (std::size_t p = 0; p < n; ++p) {
      const double t = xf - col[p];
      dist[p] = std::fma(t, t, dist[p]);
    }
  }
}

// The same operations per point as SquaresByColumn then std::sqrt (the same bits), four
// points at a time with their running sums in a register across the features.
__attribute__((target("avx2,fma"))) void DistancesByColumnFma(const double* x, const double* cols,
                                                             std::size_t n, std::size_t d,
                                                             double* dist) {
  std::size_t p = 0;
  for (; p + 4 <= n; p += 4) {
    __m256d acc = _mm256_setzero_pd();
    for (std::size_t f = 0; f < d; ++f) {
      const __m256d t = _mm256_sub_pd(_mm256_set1_pd(x[f]), _mm256_loadu_pd(cols + f * n + p));
      acc = _mm256_fmadd_pd(t, t, acc);
    }
    _mm256_storeu_pd(dist + p, _mm256_sqrt_pd(acc));
  }
  for (; p < n; ++p) {
    double s = 0.0;
    for (std::size_t f = 0; f < d; ++f) {
      const double t = x[f] - cols[f * n + p];
      s = std::fma(t, t, s);
    }
    dist[p] = std::sqrt(s);
  }
}

void Distances(const double* x, const double* cols, std::size_t n, std::size_t d, double* dist) {
  static const bool fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (fma) return DistancesByColumnFma(x, cols, n, d, dist);
  SquaresByColumn(x, cols, n, d, dist);
  for (std::size_t p = 0; p < n; ++p) dist[p] = std::sqrt(dist[p]);
}

// The sum of v[0..n) in a fixed order that does not wait on each addition: four running
// sums over the positions mod 4, then (s0 + s1) + (s2 + s3), then the tail in order.
double LaneSum(const double* v, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t p = 0;
  for (; p + 4 <= n; p += 4) {
    s0 += v[p];
    s1 += v[p + 1];
    s2 += v[p + 2];
    s3 += v[p + 3];
  }
  double sum = (s0 + s1) + (s2 + s3);
  for (; p < n; ++p) sum += v[p];
  return sum;
}

}  // namespace

double Silhouette(const std::vector<double>& x, const std::vector<std::int32_t>& labels, std::size_t d,
                  std::size_t k) {
  const std::size_t n = labels.size();
  std::vector<std::size_t> size(k, 0);
  for (auto l : labels) ++size[static_cast<std::size_t>(l)];
  if (std::count_if(size.begin(), size.end(), [](std::size_t s) { return s > 0; }) < 2) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  // The points grouped by cluster, in input order within each, stored by column: each
  // cluster's sum of distances adds its points in a fixed order (LaneSum), so the value
  // depends on the sample only, not on the split or the threads.
  std::vector<std::size_t> start(k + 1, 0), at(n);
  for (std::size_t c = 0; c < k; ++c) start[c + 1] = start[c] + size[c];
  {
    std::vector<std::size_t> next(start.begin(), start.end() - 1);
    for (std::size_t j = 0; j < n; ++j) at[j] = next[static_cast<std::size_t>(labels[j])]++;
  }
  std::vector<double> cols(n * d);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t f = 0; f < d; ++f) cols[f * n + at[j]] = x[j * d + f];
  }
  std::vector<double> s(n, 0.0);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
    std::vector<double> dist(k), to(n);
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      Distances(&x[i * d], cols.data(), n, d, to.data());  // to[at[i]] = 0 exactly
      for (std::size_t c = 0; c < k; ++c) dist[c] = LaneSum(to.data() + start[c], size[c]);
      const auto own = static_cast<std::size_t>(labels[i]);
      if (size[own] < 2) continue;  // alone in its cluster: 0
      const double a = dist[own] / static_cast<double>(size[own] - 1);
      double b = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c) {
        if (c != own && size[c] > 0) b = std::min(b, dist[c] / static_cast<double>(size[c]));
      }
      const double m = std::max(a, b);
      s[i] = m > 0 ? (b - a) / m : 0.0;
    }
  });
  double total = 0;
  for (double v : s) total += v;
  return total / static_cast<double>(n);
}

double DaviesBouldin(const std::vector<double>& centroids, const std::vector<double>& mean_distance,
                     const std::vector<std::uint64_t>& sizes, std::size_t d) {
  const std::size_t k = sizes.size();
  std::vector<std::size_t> live;
  for (std::size_t j = 0; j < k; ++j) {
    if (sizes[j] > 0) live.push_back(j);
  }
  if (live.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double total = 0;
  for (std::size_t i : live) {
    double worst = 0;
    for (std::size_t j : live) {
      if (i == j) continue;
      const double m = std::sqrt(SquaredDistance(&centroids[i * d], &centroids[j * d], d));
      if (m > 0) worst = std::max(worst, (mean_distance[i] + mean_distance[j]) / m);
    }
    total += worst;
  }
  return total / static_cast<double>(live.size());
}

}  // namespace ecps::models::kmeans
