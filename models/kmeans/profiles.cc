#include "models/kmeans/profiles.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "models/common/csv_field.h"
#include "models/kmeans/hierarchy.h"
#include "util/files.h"

namespace ecps::models::kmeans {

std::string ProfileDescription(const std::string& prefix, double share,
                               const std::vector<std::string>& names, const Normalizer& normalizer,
                               const double* fitted) {
  std::string s = fmt::format("{} ({:.1f}% of users):", prefix, 100.0 * share);
  for (std::size_t f = 0; f < names.size(); ++f) {
    s += fmt::format("{} {} {:.4g}", f ? "," : "", names[f], normalizer.Original(f, fitted[f]));
  }
  return s;
}

Status WriteProfiles(const std::string& out, const Summary& sum,
                     const std::vector<std::string>& names, bool dp, bool hierarchy) {
  const std::size_t k = sum.sizes.size(), d = names.size();
  // Profiles: every centroid in original units, with its size and share.
  nlohmann::json segments = nlohmann::json::array();
  std::string csv = "segment,size,share";
  for (const auto& n : names) {
    csv += ',';
    AppendCsvField(&csv, n);
  }
  csv += '\n';
  // Under DP the sizes are noisy counts and the shares their shares (the exact number of
  // users is not released).
  const std::uint64_t users =
      dp ? std::accumulate(sum.sizes.begin(), sum.sizes.end(), std::uint64_t{0}) : sum.users;
  for (std::size_t j = 0; j < k; ++j) {
    const double share =
        users ? static_cast<double>(sum.sizes[j]) / static_cast<double>(users) : 0.0;
    nlohmann::json centroid = nlohmann::json::object();
    csv += fmt::format("{},{},{}", j, sum.sizes[j], share);
    for (std::size_t f = 0; f < d; ++f) {
      const double v = sum.normalizer.Original(f, sum.centroids[j * d + f]);
      centroid[names[f]] = v;
      csv += fmt::format(",{}", v);
    }
    const std::string description = ProfileDescription(fmt::format("segment {}", j), share, names,
                                                       sum.normalizer, &sum.centroids[j * d]);
    csv += '\n';
    segments.push_back({{"segment", j},
                        {"size", sum.sizes[j]},
                        {"share", share},
                        {"mean_distance", sum.mean_distance[j]},
                        {"centroid", centroid},
                        {"description", description}});
    if (dp) segments.back().erase("mean_distance");
  }
  nlohmann::json overall = nlohmann::json::object();
  nlohmann::json overall_sd = nlohmann::json::object();  // standardised profiles in the report
  for (std::size_t f = 0; f < d; ++f) {
    overall[names[f]] = sum.mean[f];
    overall_sd[names[f]] = std::sqrt(sum.variance[f]);
  }
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(out + "/profiles.csv", csv));
  nlohmann::json profiles = {{"segments", segments},
                             {"overall_mean", overall},
                             {"overall_sd", overall_sd},
                             {"users", sum.users}};
  if (dp) {
    profiles.erase("overall_mean");
    profiles.erase("overall_sd");
    profiles.erase("users");
    profiles["sizes_are_noisy"] = true;
  }
  ECPS_RETURN_IF_ERROR(util::WriteJsonFile(out + "/profiles.json", profiles));
  if (hierarchy) {
    const auto tree = WardHierarchy(sum.centroids, sum.sizes, d);
    ECPS_RETURN_IF_ERROR(util::WriteJsonFile(out + "/hierarchy.json",
                                             HierarchyJson(tree, names, sum.normalizer, dp)));
  }
  return Status::Ok();
}

}  // namespace ecps::models::kmeans
