// The charts of each pipeline stage, drawn from the files the stage wrote (plot.h). Each
// function returns HTML (a <div class="charts"> of <figure>s, tables where charts need
// their numbers) or an empty string when the files it needs are missing or unreadable.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ecps::launch::report {

/// ctr (lr): the threshold table (the configured one beside the F1-best one, with a warning
/// when the configured one calls nothing positive), ROC with the AUC, precision-recall,
/// calibration, gain and lift from curves.json, and the loss per epoch from metrics.jsonl.
std::string CtrCharts(const std::string& dir, const nlohmann::json& metrics);

/// segment (k-means): each segment's standardised means (profiles.json: (centroid - overall
/// mean) / overall sd) as a heat map, sizes and the share flagged as anomalies (from
/// assignments.csv) as bars, the segments' one-line descriptions with size and mean
/// distance, the dendrogram of hierarchy.json (--hierarchy; node descriptions as tooltips),
/// the inertia per iteration from metrics.jsonl, and with a label column the risk score's
/// ROC, precision-recall, gain and lift (curves.json).
std::string SegmentCharts(const std::string& dir, const nlohmann::json& metrics);

/// recommend (item-CF): HR@k and NDCG@k of the model against popularity, one chart per
/// protocol (full ranking, sampled negatives), from metrics.json.
std::string RecommendCharts(const nlohmann::json& metrics);

}  // namespace ecps::launch::report
