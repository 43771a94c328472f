#include "models/kmeans/hierarchy.h"

#include "models/kmeans/profiles.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ecps::models::kmeans {
namespace {

double SseIncrease(const HierarchyNode& a, const HierarchyNode& b) {
  const double na = static_cast<double>(a.size), nb = static_cast<double>(b.size);
  if (na + nb == 0) return 0;
  double d2 = 0;
  for (std::size_t f = 0; f < a.centroid.size(); ++f) {
    const double diff = a.centroid[f] - b.centroid[f];
    d2 += diff * diff;
  }
  return na * nb / (na + nb) * d2;
}

HierarchyNode Merge(int id, const HierarchyNode& a, const HierarchyNode& b, double rise) {
  HierarchyNode m;
  m.id = id;
  m.left = a.id;
  m.right = b.id;
  m.sse_increase = rise;
  m.height = std::sqrt(2 * rise);
  m.size = a.size + b.size;
  m.centroid.resize(a.centroid.size());
  const double na = static_cast<double>(a.size), nb = static_cast<double>(b.size);
  for (std::size_t f = 0; f < m.centroid.size(); ++f) {
    // Two empty segments: their plain mean (the centroid of nobody, kept finite).
    m.centroid[f] = m.size ? (na * a.centroid[f] + nb * b.centroid[f]) / (na + nb)
                           : (a.centroid[f] + b.centroid[f]) / 2;
  }
  m.segments = a.segments;
  m.segments.insert(m.segments.end(), b.segments.begin(), b.segments.end());
  std::sort(m.segments.begin(), m.segments.end());
  return m;
}

}  // namespace

std::vector<HierarchyNode> WardHierarchy(const std::vector<double>& centroids,
                                         const std::vector<std::uint64_t>& sizes, std::size_t d) {
  const std::size_t k = sizes.size();
  std::vector<HierarchyNode> nodes;
  nodes.reserve(k == 0 ? 0 : 2 * k - 1);
  for (std::size_t j = 0; j < k; ++j) {
    HierarchyNode leaf;
    leaf.id = static_cast<int>(j);
    leaf.size = sizes[j];
    leaf.centroid.assign(centroids.begin() + static_cast<std::ptrdiff_t>(j * d),
                         centroids.begin() + static_cast<std::ptrdiff_t>((j + 1) * d));
    leaf.segments = {static_cast<int>(j)};
    nodes.push_back(std::move(leaf));
  }
  std::vector<int> active(k);
  std::iota(active.begin(), active.end(), 0);
  while (active.size() > 1) {
    double best = std::numeric_limits<double>::infinity();
    std::size_t bi = 0, bj = 1;
    for (std::size_t i = 0; i < active.size(); ++i) {
      for (std::size_t j = i + 1; j < active.size(); ++j) {
        const double rise = SseIncrease(nodes[static_cast<std::size_t>(active[i])],
                                        nodes[static_cast<std::size_t>(active[j])]);
        if (rise < best) {
          best = rise;
          bi = i;
          bj = j;
        }
      }
    }
    const int id = static_cast<int>(nodes.size());
    HierarchyNode m = Merge(id, nodes[static_cast<std::size_t>(active[bi])],
                            nodes[static_cast<std::size_t>(active[bj])], best);
    nodes.push_back(std::move(m));
    active.erase(active.begin() + static_cast<std::ptrdiff_t>(bj));
    active[bi] = id;  // ids stay ascending: the new id is the largest, bi's slot keeps order
    std::sort(active.begin(), active.end());
  }
  return nodes;
}

std::vector<std::vector<int>> CutsByCount(const std::vector<HierarchyNode>& nodes) {
  const std::size_t k = (nodes.size() + 1) / 2;
  std::vector<std::vector<int>> cuts(k);
  if (k == 0) return cuts;
  // m clusters = the roots of the forest left when the last m - 1 merges are undone.
  std::vector<int> current = {static_cast<int>(nodes.size()) - 1};
  cuts[0] = current;
  for (std::size_t m = 2; m <= k; ++m) {
    const int undone = static_cast<int>(nodes.size()) - static_cast<int>(m) + 1;
    const HierarchyNode& n = nodes[static_cast<std::size_t>(undone)];
    current.erase(std::find(current.begin(), current.end(), undone));
    current.push_back(n.left);
    current.push_back(n.right);
    std::sort(current.begin(), current.end());
    cuts[m - 1] = current;
  }
  return cuts;
}

nlohmann::json HierarchyJson(const std::vector<HierarchyNode>& nodes,
                             const std::vector<std::string>& names, const Normalizer& normalizer,
                             bool sizes_are_noisy) {
  const std::size_t k = (nodes.size() + 1) / 2;
  std::uint64_t users = 0;
  for (std::size_t j = 0; j < k; ++j) users += nodes[j].size;
  nlohmann::json out_nodes = nlohmann::json::array();
  for (const auto& n : nodes) {
    const double share = users ? static_cast<double>(n.size) / static_cast<double>(users) : 0.0;
    nlohmann::json centroid = nlohmann::json::object();
    for (std::size_t f = 0; f < n.centroid.size(); ++f) {
      centroid[names[f]] = normalizer.Original(f, n.centroid[f]);
    }
    const std::string description = ProfileDescription(
        n.left < 0 ? fmt::format("segment {}", n.id)
                   : fmt::format("segments {}", fmt::join(n.segments, "+")),
        share, names, normalizer, n.centroid.data());
    nlohmann::json node = {{"id", n.id},
                           {"height", n.height},
                           {"sse_increase", n.sse_increase},
                           {"size", n.size},
                           {"share", share},
                           {"segments", n.segments},
                           {"centroid", centroid},
                           {"description", description}};
    if (n.left >= 0) node["children"] = {n.left, n.right};
    out_nodes.push_back(std::move(node));
  }
  nlohmann::json cuts = nlohmann::json::object();
  const auto by_count = CutsByCount(nodes);
  for (std::size_t m = 1; m <= by_count.size(); ++m) cuts[std::to_string(m)] = by_count[m - 1];
  nlohmann::json j = {{"linkage", "ward"},
                      {"segments", k},
                      {"height", "sqrt(2 * sse_increase); sse_increase in normalised units"},
                      {"nodes", out_nodes},
                      {"cuts", cuts}};
  if (sizes_are_noisy) j["sizes_are_noisy"] = true;
  return j;
}

}  // namespace ecps::models::kmeans
