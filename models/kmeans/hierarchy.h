// A segment hierarchy: Ward-linkage agglomeration of the k-means centroids, each weighted by
// its segment's size, so that an analyst can cut the tree at any number of segments without
// training again (train kmeans --hierarchy writes it as hierarchy.json).
//
// Merging clusters A and B (sizes a, b, centroids cA, cB) raises the within-cluster sum of
// squares by a·b/(a+b)·|cA − cB|²; each step merges the pair that raises it least (Ward
// 1963). The merged centroid is the size-weighted mean. `height` is sqrt(2 × that rise),
// which for segments of size 1 is the Ward distance of scipy.cluster.hierarchy.linkage.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/kmeans/model.h"

namespace ecps::models::kmeans {

struct HierarchyNode {
  int id = 0;            ///< 0..k-1 the segments (leaves), k.. the merges in order
  int left = -1;         ///< children (merges only)
  int right = -1;
  double sse_increase = 0;  ///< the within-cluster sum of squares the merge adds (fitted units)
  double height = 0;        ///< sqrt(2 × sse_increase); 0 for leaves
  std::uint64_t size = 0;   ///< users
  std::vector<double> centroid;  ///< d values, fitted (normalised) units
  std::vector<int> segments;     ///< the leaves below, ascending
};

/// The k leaves then the k − 1 merges, for `centroids` (k × d, row-major, fitted units) and
/// `sizes` (k). Ties go to the pair with the smaller ids. O(k³ + k² d) time.
std::vector<HierarchyNode> WardHierarchy(const std::vector<double>& centroids,
                                         const std::vector<std::uint64_t>& sizes, std::size_t d);

/// For m = 1..k, the m nodes whose subtrees partition the segments when the tree is cut
/// below its last k − m merges (ascending ids).
std::vector<std::vector<int>> CutsByCount(const std::vector<HierarchyNode>& nodes);

/// hierarchy.json: {"linkage": "ward", "segments": k, "nodes": [{id, children, height,
/// sse_increase, size, share, segments, centroid (original units, by feature name),
/// description}], "cuts": {"1": [ids], ..., "k": [ids]}}.
nlohmann::json HierarchyJson(const std::vector<HierarchyNode>& nodes,
                             const std::vector<std::string>& names, const Normalizer& normalizer,
                             bool sizes_are_noisy);

}  // namespace ecps::models::kmeans
