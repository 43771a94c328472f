// The worker side of the k-means job (internal to models/kmeans): load, normalise,
// initialise (seeding.h), iterate (lloyd.h), and send the results to the scheduler.
#pragma once

#include "models/kmeans/kmeans.h"

namespace ecps::models::kmeans {

/// Runs one worker's part of the job. Every worker runs the same sequence of clocks.
Status RunKMeansWorker(const KMeansOptions& options, const worker::FeatureSchema& schema,
                       const TableLayout& layout, sched::JobContext& ctx);

}  // namespace ecps::models::kmeans
