#include "models/export/export.h"

#include <filesystem>

#include <fmt/format.h>

#include "models/common/model_file.h"
#include "models/export/exporters.h"
#include "util/files.h"

namespace ecps::models::exporting {
namespace {

using nlohmann::json;

json Neighbors(const cf::NeighborLists& lists, const std::vector<std::string>& ids) {
  json out = json::object();
  for (std::size_t e = 0; e < lists.size() && e < ids.size(); ++e) {
    json row = json::array();
    const auto nid = lists.Ids(e);
    const auto score = lists.Scores(e);
    for (std::size_t i = 0; i < nid.size(); ++i) {
      row.push_back({{"id", ids[nid[i]]}, {"score", static_cast<double>(score[i])}});
    }
    out[ids[e]] = std::move(row);
  }
  return out;
}

Result<std::string> CheckedOnnx(ExportFormat format, const std::string& kind) {
  if (format == ExportFormat::kOnnx) {
    return InvalidArgument(fmt::format(
        "--format onnx: a {} model has no ONNX export (lr and kmeans have); use --format json",
        kind));
  }
  return std::string();
}

std::string Text(const json& j) { return util::DumpJson(j, 1) + "\n"; }

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "json") return ExportFormat::kJson;
  if (name == "onnx") return ExportFormat::kOnnx;
  return InvalidArgument(fmt::format("--format {}: json or onnx", name));
}

nlohmann::json CfJson(const cf::CfModel& m) {
  json j = {{"ecps_export", kJsonVersion},
            {"model", m.kind},
            {"similarity", m.similarity},
            {"scoring", m.scoring},
            {"explicit_ratings", m.explicit_ratings}};
  const bool items = m.item_based();
  j["neighbors_of"] = items ? "items" : "users";
  j["neighbors"] = Neighbors(m.neighbors, items ? m.item_ids : m.user_ids);
  j["neighbors_note"] = "per id, its neighbours best first: similarity score (float32 values)";
  json pop = json::object();
  for (std::size_t i = 0; i < m.item_ids.size() && i < m.item_count.size(); ++i)
    pop[m.item_ids[i]] = m.item_count[i];
  j["item_interactions"] = std::move(pop);
  if (m.has_content()) {
    j["content_neighbors"] = Neighbors(m.content, m.item_ids);
    j["cold_threshold"] = m.cold_threshold;
    j["content_blend"] = m.content_blend;
  }
  if (items) j["recency_decay"] = m.recency_decay;
  j["users"] = m.user_ids.size();
  j["items"] = m.item_ids.size();
  return j;
}

Result<std::string> ExportModel(const std::string& model, ExportFormat format,
                                const privacy::EncryptionKey* key, std::string* kind) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_dir = fs::is_directory(model, ec);
  std::string path = model;
  if (is_dir) {
    path = (fs::path(model) / "model.bin").string();
    if (!fs::exists(path, ec)) {
      ECPS_ASSIGN_OR_RETURN(path, ModelFileIn(model, "model.ecps"));
    }
  }
  const std::string dir = is_dir ? model : fs::path(model).parent_path().string();
  ECPS_ASSIGN_OR_RETURN(*kind, ModelFileKind(path, key));
  if (*kind == lr::LrModel::kKind) {
    ECPS_ASSIGN_OR_RETURN(lr::LrModel m, lr::LoadLrModel(path, key));
    if (format == ExportFormat::kOnnx) return LrOnnx(m);
    return Text(LrJson(m, dir.empty() ? "." : dir));
  }
  if (*kind == lr::LinRegModel::kKind) {
    ECPS_RETURN_IF_ERROR(CheckedOnnx(format, *kind).status());
    ECPS_ASSIGN_OR_RETURN(lr::LinRegModel m, lr::LoadLinRegModel(path, key));
    return Text(LinRegJson(m, dir.empty() ? "." : dir));
  }
  if (*kind == kmeans::KMeansModel::kKind) {
    ECPS_ASSIGN_OR_RETURN(kmeans::KMeansModel m, kmeans::LoadKMeansModel(path, key));
    if (format == ExportFormat::kOnnx) return KMeansOnnx(m);
    return Text(KMeansJson(m, dir.empty() ? "." : dir));
  }
  if (*kind == cf::CfModel::kKind) {
    ECPS_RETURN_IF_ERROR(CheckedOnnx(format, "collaborative-filtering").status());
    ECPS_ASSIGN_OR_RETURN(cf::CfModel m, cf::LoadCfModel(path, key));
    *kind = m.kind;
    return Text(CfJson(m));
  }
  return InvalidArgument(fmt::format("{}: a {} model has no export", path, *kind));
}

}  // namespace ecps::models::exporting
