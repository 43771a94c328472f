#include "models/cf/model.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "models/common/model_file.h"

namespace ecps::models::cf {

namespace {
// A CSR pointer of `rows` rows over `entries` entries: starts at 0, never decreases, ends at
// `entries`; `max_row` (> 0) bounds each row.
bool GoodPointer(const std::vector<std::uint64_t>& ptr, std::size_t rows, std::size_t entries,
                 std::uint64_t max_row = 0) {
  if (ptr.size() != rows + 1 || ptr.front() != 0 || ptr.back() != entries) return false;
  for (std::size_t r = 0; r < rows; ++r) {
    if (ptr[r + 1] < ptr[r] || (max_row > 0 && ptr[r + 1] - ptr[r] > max_row)) return false;
  }
  return true;
}

// Neighbour lists of `rows` entities, each of at most k neighbours that are entities below
// `ids` with finite scores; "" when they are, else what is wrong.
std::string CheckLists(const NeighborLists& l, std::size_t rows, std::size_t ids) {
  if (l.k == 0) return "k is 0";
  if (l.score.size() != l.id.size()) {
    return fmt::format("{} ids but {} scores", l.id.size(), l.score.size());
  }
  if (!GoodPointer(l.ptr, rows, l.id.size(), l.k)) {
    return fmt::format("the list pointer does not cover {} entities of at most {} neighbours", rows,
                       l.k);
  }
  for (auto j : l.id) {
    if (j >= ids) return fmt::format("neighbour index {} is not below {}", j, ids);
  }
  for (float s : l.score) {
    if (!std::isfinite(s)) return "a neighbour score is not finite";
  }
  return "";
}
}  // namespace

Status CheckModel(const CfModel& m, const std::string& path) {
  const std::size_t users = m.user_ids.size(), items = m.item_ids.size();
  const std::size_t entities = m.item_based() ? items : users;
  auto bad = [&](const std::string& what) { return DataError(fmt::format("{}: inconsistent model: {}", path, what)); };
  if (m.kind != "itemcf" && m.kind != "usercf") return bad("kind \"" + m.kind + "\"");
  if (m.scoring != "sum" && m.scoring != "average") return bad("scoring \"" + m.scoring + "\"");
  if (users >= NeighborLists::kNone || items >= NeighborLists::kNone) {
    return bad("too many users or items");
  }
  if (!GoodPointer(m.train_ptr, users, m.train_item.size())) {
    return bad(fmt::format("the training pointer does not cover {} users and {} entries in order",
                           users, m.train_item.size()));
  }
  if (!m.train_val.empty() && m.train_val.size() != m.train_item.size()) return bad("training values");
  if (!m.train_age.empty() && m.train_age.size() != m.train_item.size()) return bad("training ages");
  if (!(m.recency_decay > 0 && m.recency_decay <= 1)) return bad("recency decay outside (0, 1]");
  if (m.train_age.empty() && m.recency_decay < 1.0) return bad("recency decay without training ages");
  if (!(m.content_blend >= 0 && m.content_blend <= 1)) return bad("content blend outside [0, 1]");
  if (m.item_count.size() != items) return bad("item counts");
  if (std::string why = CheckLists(m.neighbors, entities, entities); !why.empty()) {
    return bad("neighbour lists: " + why);
  }
  if (m.has_content()) {
    if (std::string why = CheckLists(m.content, items, items); !why.empty()) {
      return bad("content neighbour lists: " + why);
    }
  } else if (!m.content.id.empty()) {
    return bad("content neighbour lists without k");
  }
  for (auto j : m.train_item) {
    if (j >= items) return bad(fmt::format("training item index {} is not below {}", j, items));
  }
  for (float v : m.train_val) {
    if (!std::isfinite(v)) return bad("a training value is not finite");
  }
  return Status::Ok();
}

Status SaveCfModel(const std::string& path, const CfModel& model,
                   const privacy::EncryptionKey* key) {
  return SaveModel(path, CfModel::kKind, CfModel::kVersion, model, key);
}

Result<CfModel> LoadCfModel(const std::string& dir_or_file, const privacy::EncryptionKey* key) {
  ECPS_ASSIGN_OR_RETURN(std::string path, ModelFileIn(dir_or_file, "model.ecps"));
  CfModel m;
  ECPS_RETURN_IF_ERROR(LoadModel(path, CfModel::kKind, CfModel::kVersion, &m, key));
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
    for (std::size_t s = 0; s < ids.size(); ++s) {
      ScoreFromUser(m.Items(ids[s]), m.Values(ids[s]), sims[s], scores);
    }
  }
  scores->Finish(m.scoring == "average" ? Scoring::kAverage : Scoring::kSum);
  scores->Top(n, m.Items(u), pop, fill, out);
}

}  // namespace ecps::models::cf
