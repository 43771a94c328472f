#include "models/cf/model.h"

#include <filesystem>

#include <fmt/format.h>

#include "models/common/model_file.h"

namespace ecps::models::cf {

Status CheckModel(const CfModel& m, const std::string& path) {
  const std::size_t users = m.user_ids.size(), items = m.item_ids.size();
  const std::size_t entities = m.item_based() ? items : users;
  auto bad = [&](const std::string& what) { return DataError(fmt::format("{}: inconsistent model: {}", path, what)); };
  if (m.kind != "itemcf" && m.kind != "usercf") return bad("kind \"" + m.kind + "\"");
  if (m.train_ptr.size() != users + 1) return bad("training pointer size");
  if (m.train_ptr.back() != m.train_item.size()) return bad("training entries");
  if (!m.train_val.empty() && m.train_val.size() != m.train_item.size()) return bad("training values");
  if (!m.train_age.empty() && m.train_age.size() != m.train_item.size()) return bad("training ages");
  if (m.train_age.empty() && m.recency_decay < 1.0) return bad("recency decay without training ages");
  if (m.item_count.size() != items) return bad("item counts");
  if (m.neighbors.size() != entities || m.neighbors.score.size() != m.neighbors.id.size()) return bad("neighbour lists");
  if (m.has_content() && (m.content.size() != items || m.content.score.size() != m.content.id.size())) {
    return bad("content neighbour lists");
  }
  for (auto j : m.content.id) {
    if (j != NeighborLists::kNone && j >= items) return bad("content neighbour index out of range");
  }
  for (auto j : m.train_item) {
    if (j >= items) return bad("item index out of range");
  }
  for (auto j : m.neighbors.id) {
    if (j != NeighborLists::kNone && j >= entities) return bad("neighbour index out of range");
  }
  return Status::Ok();
}

Status SaveCfModel(const std::string& path, const CfModel& model) {
  return SaveModel(path, CfModel::kKind, CfModel::kVersion, model);
}

Result<CfModel> LoadCfModel(const std::string& dir_or_file) {
  ECPS_ASSIGN_OR_RETURN(std::string path, ModelFileIn(dir_or_file, "model.ecps"));
  CfModel m;
  ECPS_RETURN_IF_ERROR(LoadModel(path, CfModel::kKind, CfModel::kVersion, &m));
  ECPS_RETURN_IF_ERROR(CheckModel(m, path));
  return m;
}

void RecommendForUser(const CfModel& m, const Popularity& pop, std::uint32_t u, std::size_t n, bool fill,
                      ItemScores* scores, std::vector<Scored>* out) {
  scores->Clear();
  if (m.item_based()) {
    std::vector<float> weights;
    UserItemWeights(m.Values(u), m.Ages(u), m.recency_decay, &weights);
    const ContentMix mix = m.Mix();
    ScoreFromItems(m.Items(u), weights, m.neighbors, scores, &mix);
  } else {
    auto ids = m.neighbors.Ids(u);
    auto sims = m.neighbors.Scores(u);
    for (std::size_t s = 0; s < ids.size() && ids[s] != NeighborLists::kNone; ++s) {
      ScoreFromUser(m.Items(ids[s]), m.Values(ids[s]), sims[s], scores);
    }
  }
  scores->Finish(m.scoring == "average" ? Scoring::kAverage : Scoring::kSum);
  scores->Top(n, m.Items(u), pop, fill, out);
}

}  // namespace ecps::models::cf
