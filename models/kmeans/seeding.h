// Initial centroids of the k-means job (internal to models/kmeans), chosen by every worker
// alike: greedy k-means++, k-means|| or a CSV file of centroids in original units.
#pragma once

#include "models/kmeans/worker_state.h"

namespace ecps::models::kmeans {

/// Sets state.centroids (k x d, fitted space) by options.init, after the users are
/// normalised; k-means|| also sets state.summary.init_candidates. Every worker calls it.
Status InitializeCentroids(WorkerState& state);

}  // namespace ecps::models::kmeans
