// JSON and ONNX exports of k-means models.
#include <cmath>
#include <fstream>

#include "models/export/exporters.h"
#include "models/export/onnx_writer.h"

namespace ecps::models::exporting {
namespace {

using nlohmann::json;

const char* EncodingName(worker::ColumnEncoding::Kind k) {
  switch (k) {
    case worker::ColumnEncoding::Kind::kNumeric: return "numeric";
    case worker::ColumnEncoding::Kind::kOneHot: return "one_hot";
    case worker::ColumnEncoding::Kind::kOrdinal: return "ordinal";
  }
  return "?";
}

}  // namespace

nlohmann::json KMeansJson(const kmeans::KMeansModel& m, const std::string& dir) {
  const auto& schema = m.schema;
  json j = {{"ecps_export", kJsonVersion}, {"model", "kmeans"}, {"k", m.k}, {"d", m.d}};
  json cols = json::array();
  for (const auto& c : schema.columns()) {
    json e = {{"column", c.column}, {"encoding", EncodingName(c.kind)}};
    if (c.kind != worker::ColumnEncoding::Kind::kNumeric) e["categories"] = c.categories;
    cols.push_back(std::move(e));
  }
  j["input"] = {
      {"format", "csv"},
      {"delimiter", std::string(1, schema.delimiter())},
      {"id_column", schema.id_column()},
      {"columns", std::move(cols)},
      {"row",
       {"the first line is a header; columns are found by name; fields are split RFC 4180 style on "
        "the delimiter and their surrounding spaces and tabs dropped",
        "id: the id column's field (id_column \"@line\": the row's 1-based line number)",
        "features, in column order: numeric: the field as a float64 number; one_hot: one feature "
        "per category, 1 for the field's category and 0 for the others; ordinal: the category's "
        "position (0, 1, ...); an unlisted category or an empty field is an error (an empty "
        "numeric field: \"impute\" gives its value, or mode drop skips the row)"}}};
  j["features"] = schema.output_names();
  if (m.impute.kind != kmeans::Impute::kNone) {  // an empty numeric field: this value, or drop
    j["impute"] = {{"mode", kmeans::ImputeName(m.impute.kind)}, {"values", m.impute.values}};
  }
  j["normalizer"] = {{"kind", kmeans::NormalizeName(m.normalizer.kind)},
                     {"shift", m.normalizer.shift},
                     {"scale", m.normalizer.scale},
                     {"formula", m.normalizer.kind == kmeans::Normalize::kNone
                                     ? "fitted = x (no normalisation)"
                                     : "fitted[f] = (x[f] - shift[f]) / scale[f], in float64"}};
  json centroids = json::array(), original = json::array();
  for (std::size_t c = 0; c < m.k; ++c) {
    std::vector<double> row(m.centroids.begin() + static_cast<std::ptrdiff_t>(c * m.d),
                            m.centroids.begin() + static_cast<std::ptrdiff_t>((c + 1) * m.d));
    std::vector<double> orig(m.d);
    for (std::size_t f = 0; f < m.d; ++f) {
      orig[f] =
          m.normalizer.kind == kmeans::Normalize::kNone ? row[f] : m.normalizer.Original(f, row[f]);
    }
    centroids.push_back(std::move(row));
    original.push_back(std::move(orig));
  }
  j["centroids"] = std::move(centroids);
  j["centroids_note"] = "k rows of d values in the fitted (normalised) space";
  j["centroids_original_units"] = std::move(original);
  j["sizes"] = m.sizes;
  j["mean_distance"] = m.mean_distance;
  j["score_kind"] = m.score;
  j["anomaly_threshold"] =
      std::isfinite(m.anomaly_threshold) ? json(m.anomaly_threshold) : json(nullptr);
  j["assignment"] = {
      "distance to centroid c: sqrt(sum over f of (fitted[f] - centroids[c][f])^2), in float64",
      "segment: the centroid of least distance (the lowest index among equals)",
      "score: score_kind \"relative\": distance / mean_distance[segment] (0 when that mean is 0); "
      "\"distance\": the distance itself",
      "anomaly: 1 when score >= anomaly_threshold (null: never)",
      "`ecps segment` prints id,cluster,distance,score,anomaly with 17 significant digits"};
  if (!dir.empty()) {
    std::ifstream in(dir + "/profiles.json");
    if (in) {
      json p = json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (!p.is_discarded()) j["profiles"] = std::move(p);
    }
  }
  return j;
}

std::string KMeansOnnx(const kmeans::KMeansModel& m) {
  const auto k = static_cast<std::int64_t>(m.k), d = static_cast<std::int64_t>(m.d);
  onnx::Graph g;
  g.name = "ecps_kmeans";
  g.doc =
      "k-means segments: features (N x d, float64, the encoded columns in original units) are "
      "normalised by (x - shift) / scale; distances (N x k) to every centroid; segment: the "
      "nearest.";
  std::vector<double> shift = m.normalizer.shift, scale = m.normalizer.scale;
  if (m.normalizer.kind == kmeans::Normalize::kNone) {
    shift.assign(m.d, 0.0);
    scale.assign(m.d, 1.0);
  }
  g.initializers.push_back(onnx::DoubleTensor("shift", {d}, shift));
  g.initializers.push_back(onnx::DoubleTensor("scale", {d}, scale));
  g.initializers.push_back(onnx::DoubleTensor("centroids", {k, d}, m.centroids));
  const std::vector<std::int64_t> axis1{1}, axis2{2};
  g.initializers.push_back(onnx::Int64Tensor("axis1", {1}, axis1));
  g.initializers.push_back(onnx::Int64Tensor("axis2", {1}, axis2));
  g.inputs.push_back(
      {"features", onnx::ElemType::kDouble, {-1, d}, "encoded features in original units"});
  g.outputs.push_back({"segment", onnx::ElemType::kInt64, {-1}, "index of the nearest centroid"});
  g.outputs.push_back({"distances", onnx::ElemType::kDouble, {-1, k}, "distance to each centroid"});
  g.nodes.push_back({"Sub", {"features", "shift"}, {"centred"}, {}});
  g.nodes.push_back({"Div", {"centred", "scale"}, {"fitted"}, {}});
  g.nodes.push_back({"Unsqueeze", {"fitted", "axis1"}, {"fitted3"}, {}});  // N x 1 x d
  g.nodes.push_back({"Sub", {"fitted3", "centroids"}, {"diff"}, {}});      // N x k x d
  g.nodes.push_back({"Mul", {"diff", "diff"}, {"squares"}, {}});
  g.nodes.push_back({"ReduceSum", {"squares", "axis2"}, {"d2"}, {{"keepdims", 0}}});  // N x k
  g.nodes.push_back({"Sqrt", {"d2"}, {"distances"}, {}});
  g.nodes.push_back({"ArgMin", {"d2"}, {"segment"}, {{"axis", 1}, {"keepdims", 0}}});
  return onnx::EncodeModel(
      g, 13, {{"ecps_model", "kmeans"}, {"normalize", kmeans::NormalizeName(m.normalizer.kind)}});
}

}  // namespace ecps::models::exporting
