// The Lloyd loop of the k-means job (internal to models/kmeans).
//
// Each worker keeps its users' cluster sums (coordinates, count and ||x - o||^2 on their
// grids, so exact in any order) from one iteration to the next and updates them only for
// the users whose label changes: once the clusters settle, an iteration costs little more
// than the nearest-centroid search. The search is the float32 screen (screen.h) with the
// float64 kernel for unsure users where the CPU has AVX-512, else the float64 kernel
// alone; both give the float64 kernel's labels bit for bit.
#pragma once

#include "models/kmeans/worker_state.h"

namespace ecps::models::kmeans {

/// Runs Lloyd iterations from state.centroids until scikit-learn's stopping rules or
/// options.max_iter: one clock per iteration (two when a cluster is empty and is re-seeded
/// with the farthest users). Leaves the last centroids in state.centroids, the users'
/// labels in state.labels, and iterations, stop reason and timings in state.summary.
/// Worker 0 reports every iteration. Every worker calls it.
Status RunLloyd(WorkerState& state);

}  // namespace ecps::models::kmeans
