// Weighted k-means on a few points on one machine (internal to models/kmeans): the last step
// of k-means|| initialisation, which reclusters the candidates of every worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ecps::models::kmeans {

/// `trials` runs of k-means++ seeding by weight then up to `iterations` Lloyd steps, keeping
/// the run of lowest weighted cost (the candidates are few, so restarts are cheap).
/// Deterministic for a seed. Returns k x d centroids. Requires points.size() / d >= k.
std::vector<double> LocalWeightedKMeans(const std::vector<double>& points,
                                        const std::vector<double>& weights, std::size_t d,
                                        std::size_t k, std::uint64_t seed, int iterations = 30,
                                        int trials = 10);

}  // namespace ecps::models::kmeans
