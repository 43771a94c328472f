// Cluster quality measures computed on the scheduler.
#pragma once

#include <cstdint>
#include <vector>

namespace ecps::models::kmeans {

/// Mean silhouette coefficient (Rousseeuw 1987) of n points (row-major n x d) with their
/// labels in [0, k): s(i) = (b - a) / max(a, b), a = mean distance to the other points of its
/// cluster, b = the smallest mean distance to another cluster; 0 for a point alone in its
/// cluster (as scikit-learn). NaN when fewer than 2 clusters are present. O(n^2 d), parallel.
double Silhouette(const std::vector<double>& x, const std::vector<std::int32_t>& labels, std::size_t d,
                  std::size_t k);

/// Davies-Bouldin index (1979) from centroids (k x d), the mean distance of each cluster's
/// points to its centroid and the cluster sizes: the mean over clusters of the worst ratio
/// (S_i + S_j) / ||c_i - c_j||. Empty clusters are left out; coinciding centroids count 0 (as
/// scikit-learn). NaN with fewer than 2 non-empty clusters.
double DaviesBouldin(const std::vector<double>& centroids, const std::vector<double>& mean_distance,
                     const std::vector<std::uint64_t>& sizes, std::size_t d);

}  // namespace ecps::models::kmeans
