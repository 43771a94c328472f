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

// The checks of a model's parts but its training rows; "" when they fit, else what is wrong.
std::string CheckHead(const std::string& kind, const std::string& scoring, std::size_t users,
                      std::size_t items, double recency_decay, bool has_ages,
                      double content_blend, std::size_t item_counts,
                      const NeighborLists& neighbors, const NeighborLists* content) {
  const std::size_t entities = kind == "itemcf" ? items : users;
  if (kind != "itemcf" && kind != "usercf") return "kind \"" + kind + "\"";
  if (scoring != "sum" && scoring != "average") return "scoring \"" + scoring + "\"";
  if (users >= NeighborLists::kNone || items >= NeighborLists::kNone) {
    return "too many users or items";
  }
  if (!(recency_decay > 0 && recency_decay <= 1)) return "recency decay outside (0, 1]";
  if (!has_ages && recency_decay < 1.0) return "recency decay without training ages";
  if (!(content_blend >= 0 && content_blend <= 1)) return "content blend outside [0, 1]";
  if (item_counts != items) return "item counts";
  if (std::string why = CheckLists(neighbors, entities, entities); !why.empty()) {
    return "neighbour lists: " + why;
  }
  if (content != nullptr && content->k > 0) {
    if (std::string why = CheckLists(*content, items, items); !why.empty()) {
      return "content neighbour lists: " + why;
    }
  } else if (content != nullptr && !content->id.empty()) {
    return "content neighbour lists without k";
  }
  return "";
}

// A training item index of `items` or more, or a value that is not finite: what is wrong.
std::string CheckRows(std::span<const std::uint32_t> item, std::span<const float> val,
                      std::size_t items) {
  for (auto j : item) {
    if (j >= items) return fmt::format("training item index {} is not below {}", j, items);
  }
  for (float v : val) {
    if (!std::isfinite(v)) return "a training value is not finite";
  }
  return "";
}
}  // namespace

Status CheckModel(const CfModel& m, const std::string& path) {
  const std::size_t users = m.user_ids.size(), items = m.item_ids.size();
  auto bad = [&](const std::string& what) { return DataError(fmt::format("{}: inconsistent model: {}", path, what)); };
  if (std::string why = CheckHead(m.kind, m.scoring, users, items, m.recency_decay,
                                  !m.train_age.empty(), m.content_blend, m.item_count.size(),
                                  m.neighbors, &m.content);
      !why.empty()) {
    return bad(why);
  }
  if (!GoodPointer(m.train_ptr, users, m.train_item.size())) {
    return bad(fmt::format("the training pointer does not cover {} users and {} entries in order",
                           users, m.train_item.size()));
  }
  if (!m.train_val.empty() && m.train_val.size() != m.train_item.size()) return bad("training values");
  if (!m.train_age.empty() && m.train_age.size() != m.train_item.size()) return bad("training ages");
  if (std::string why = CheckRows(m.train_item, m.train_val, items); !why.empty()) return bad(why);
  return Status::Ok();
}

Status CheckModelParts(const CfModelParts& m, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return DataError(fmt::format("{}: inconsistent model: {}", what, why));
  };
  if (m.user_ids == nullptr || m.item_ids == nullptr || m.neighbors == nullptr ||
      m.item_count == nullptr || !m.rows) {
    return bad("a part is missing");
  }
  const std::size_t users = m.users(), items = m.item_ids->size();
  std::uint64_t nnz = 0;
  for (std::uint32_t u = 0; u < users; ++u) nnz += m.rows(u).items.size();
  if (std::string why = CheckHead(m.kind, m.scoring, users, items, m.recency_decay,
                                  m.has_ages && nnz > 0, m.content_blend, m.item_count->size(),
                                  *m.neighbors, m.content);
      !why.empty()) {
    return bad(why);
  }
  for (std::uint32_t u = 0; u < users; ++u) {
    const TrainRows r = m.rows(u);
    if (r.values.size() != (m.has_values ? r.items.size() : 0)) return bad("training values");
    if (r.ages.size() != (m.has_ages ? r.items.size() : 0)) return bad("training ages");
    if (std::string why = CheckRows(r.items, r.values, items); !why.empty()) return bad(why);
  }
  return Status::Ok();
}

CfModelParts PartsOf(const CfModel& m) {
  CfModelParts p;
  p.kind = m.kind;
  p.similarity = m.similarity;
  p.scoring = m.scoring;
  p.explicit_ratings = m.explicit_ratings;
  p.user_ids = &m.user_ids;
  p.item_ids = &m.item_ids;
  p.neighbors = &m.neighbors;
  p.content = &m.content;
  p.item_count = &m.item_count;
  p.recency_decay = m.recency_decay;
  p.cold_threshold = m.cold_threshold;
  p.content_blend = m.content_blend;
  p.has_values = !m.train_val.empty();
  p.has_ages = !m.train_age.empty();
  p.rows = [&m](std::uint32_t u) { return TrainRows{m.Items(u), m.Values(u), m.Ages(u)}; };
  return p;
}

Status SaveCfModelParts(const std::string& path, const CfModelParts& model,
                        const privacy::EncryptionKey* key) {
  return SaveModelStreamed(path, CfModel::kKind, CfModel::kVersion, model, key);
}

Status SaveCfModel(const std::string& path, const CfModel& model,
                   const privacy::EncryptionKey* key) {
  return SaveModelStreamed(path, CfModel::kKind, CfModel::kVersion, model, key);
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

void RecommendFromItems(const CfModel& m, const Popularity& pop, std::span<const std::uint32_t> items,
                        std::size_t n, bool fill, ItemScores* scores, std::vector<Scored>* out) {
  scores->Clear();
  const ContentMix mix = m.Mix();
  ScoreFromItems(items, {}, m.neighbors, scores, &mix);
  scores->Finish(m.scoring == "average" ? Scoring::kAverage : Scoring::kSum);
  scores->Top(n, items, pop, fill, out);
}

}  // namespace ecps::models::cf
