// The worker side of the k-means job (internal to models/kmeans): load, normalise,
// initialise, iterate, and send the results to the scheduler.
#pragma once

#include "models/kmeans/kmeans.h"

namespace ecps::models::kmeans {

/// Runs one worker's part of the job. Every worker runs the same sequence of clocks.
Status RunKMeansWorker(const KMeansOptions& options, const worker::FeatureSchema& schema,
                       const TableLayout& layout, int threads, sched::JobContext& ctx);

/// Random numbers that depend only on (seed, round, user): the same whatever the split of
/// the users across workers and threads. Uniform in (0, 1).
double UniformFor(std::uint64_t seed, std::uint64_t round, std::uint64_t user_hash);

/// Weighted k-means on a few points (the k-means|| candidates), on one machine: `trials` runs
/// of k-means++ seeding by weight then up to `iterations` Lloyd steps, keeping the run of
/// lowest weighted cost (the candidates are few, so restarts are cheap). Deterministic for a
/// seed. Returns k x d centroids. Requires points.size() / d >= k.
std::vector<double> LocalWeightedKMeans(const std::vector<double>& points, const std::vector<double>& weights,
                                        std::size_t d, std::size_t k, std::uint64_t seed, int iterations = 30,
                                        int trials = 10);

}  // namespace ecps::models::kmeans
