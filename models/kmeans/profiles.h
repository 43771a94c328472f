// The segment profiles a k-means run writes beside its model: profiles.csv, profiles.json and,
// with --hierarchy, hierarchy.json (models/kmeans/hierarchy.h).
#pragma once

#include <string>
#include <vector>

#include "models/kmeans/messages.h"
#include "ps/status.h"

namespace ecps::models::kmeans {

/// "<prefix> (12.5% of users): age 34.1, rating 4.2": the one-line description of a segment
/// (or a group of segments) whose centroid is `fitted` (d values, fitted units).
std::string ProfileDescription(const std::string& prefix, double share,
                               const std::vector<std::string>& names, const Normalizer& normalizer,
                               const double* fitted);

/// Writes into `out`: profiles.csv (segment, size, share, every feature in original units),
/// profiles.json (the same with the mean distance, a description per segment, the overall mean
/// and standard deviation of every feature and the user count — under `dp` the sizes are the
/// noisy counts and neither the overall figures nor the mean distances are written) and, with
/// `hierarchy`, hierarchy.json.
Status WriteProfiles(const std::string& out, const Summary& sum,
                     const std::vector<std::string>& names, bool dp, bool hierarchy);

}  // namespace ecps::models::kmeans
