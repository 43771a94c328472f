// The saved collaborative-filtering model (DIR/model.ecps, kind "cf"): the id mappings,
// the neighbour lists, the training interactions by user and the item popularity — all
// that `ecps recommend` and `ecps similar` need, without the original data.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "models/cf/scoring.h"
#include "privacy/sealed.h"
#include "ps/status.h"

namespace ecps::models::cf {

struct CfModel {
  /// 2: neighbour lists hold only real neighbours (CSR). Version 1 files (k slots per
  /// entity) are refused with a message to train again.
  static constexpr std::uint32_t kVersion = 2;
  static constexpr const char* kKind = "cf";

  std::string kind;        ///< "itemcf" or "usercf": what the neighbour lists are of
  std::string similarity;  ///< the measure's name
  std::string scoring;     ///< "sum" or "average"
  bool explicit_ratings = false;
  std::vector<std::string> user_ids;  ///< dense user index -> id
  std::vector<std::string> item_ids;  ///< dense item index -> id
  NeighborLists neighbors;            ///< of items (itemcf) or users (usercf)
  std::vector<std::uint64_t> train_ptr;  ///< per user: its training items in train_item
  std::vector<std::uint32_t> train_item; ///< ascending within a user
  std::vector<float> train_val;          ///< ratings (empty for implicit feedback)
  std::vector<std::uint32_t> train_age;  ///< 0 = the user's latest training interaction (empty without recency decay)
  double recency_decay = 1.0;            ///< itemcf scoring weight decay^age
  std::vector<std::uint32_t> item_count; ///< training interactions per item
  NeighborLists content;                 ///< itemcf with attributes: content neighbours (else k = 0)
  std::uint32_t cold_threshold = 0;      ///< items with fewer interactions use `content` only
  double content_blend = 0;              ///< weight of content lists for warm items

  bool has_content() const { return content.k > 0; }
  ContentMix Mix() const {
    ContentMix mix;
    if (has_content()) {
      mix.content = &content;
      mix.item_count = item_count;
      mix.cold_threshold = cold_threshold;
      mix.blend = content_blend;
    }
    return mix;
  }

  bool item_based() const { return kind == "itemcf"; }
  std::span<const std::uint32_t> Items(std::uint32_t u) const {
    return {train_item.data() + train_ptr[u], train_ptr[u + 1] - train_ptr[u]};
  }
  std::span<const std::uint32_t> Ages(std::uint32_t u) const {
    if (train_age.empty()) return {};
    return {train_age.data() + train_ptr[u], train_ptr[u + 1] - train_ptr[u]};
  }
  std::span<const float> Values(std::uint32_t u) const {
    if (train_val.empty()) return {};
    return {train_val.data() + train_ptr[u], train_ptr[u + 1] - train_ptr[u]};
  }

  template <class A>
  void serialize(A& ar) {
    ar(kind, similarity, scoring, explicit_ratings, user_ids, item_ids, neighbors, train_ptr, train_item,
       train_val, train_age, recency_decay, item_count, content, cold_threshold, content_blend);
  }
};

/// One user's training rows as a model holds them (values, ages empty when it has none).
struct TrainRows {
  std::span<const std::uint32_t> items;
  std::span<const float> values;
  std::span<const std::uint32_t> ages;
};

/// A model's content where it already is (the trainer's ids, lists and workers' reports),
/// written without a copy: serialises to the bytes of the CfModel with the same members. The
/// pointers and `rows` must outlive its use.
struct CfModelParts {
  std::string kind, similarity, scoring;
  bool explicit_ratings = false;
  const std::vector<std::string>* user_ids = nullptr;
  const std::vector<std::string>* item_ids = nullptr;
  const NeighborLists* neighbors = nullptr;
  const NeighborLists* content = nullptr;  ///< null: no content lists (k = 0)
  const std::vector<std::uint32_t>* item_count = nullptr;
  double recency_decay = 1.0;
  std::uint32_t cold_threshold = 0;
  double content_blend = 0;
  bool has_values = false, has_ages = false;  ///< the model keeps train_val, train_age
  std::function<TrainRows(std::uint32_t)> rows;  ///< user index -> its training rows

  std::size_t users() const { return user_ids->size(); }

  template <class A>
  void save(A& ar) const {
    static const NeighborLists kNoContent;
    const auto n = static_cast<std::uint32_t>(users());
    std::uint64_t nnz = 0;
    for (std::uint32_t u = 0; u < n; ++u) nnz += rows(u).items.size();
    ar(kind, similarity, scoring, explicit_ratings, *user_ids, *item_ids, *neighbors);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(n) + 1));  // train_ptr
    std::uint64_t at = 0;
    ar(at);
    for (std::uint32_t u = 0; u < n; ++u) {
      at += rows(u).items.size();
      ar(at);
    }
    auto column = [&](bool kept, auto pick) {
      ar(cereal::make_size_tag(static_cast<cereal::size_type>(kept ? nnz : 0)));
      for (std::uint32_t u = 0; kept && u < n; ++u) {
        const auto part = pick(rows(u));
        if (!part.empty()) ar(cereal::binary_data(part.data(), part.size_bytes()));
      }
    };
    column(true, [](const TrainRows& r) { return r.items; });
    column(has_values, [](const TrainRows& r) { return r.values; });
    column(has_ages, [](const TrainRows& r) { return r.ages; });
    ar(recency_decay, *item_count, content != nullptr ? *content : kNoContent, cold_threshold,
       content_blend);
  }
};

/// The parts of `m`, pointing into it.
CfModelParts PartsOf(const CfModel& m);

/// Checks that the decoded parts fit together before anything indexes with them: sizes,
/// CSR pointers that start at 0, never decrease and end at their arrays' sizes, every index
/// in range, finite scores and values, known kind and scoring. A payload with a recomputed
/// checksum can hold anything.
Status CheckModel(const CfModel& m, const std::string& path);
/// CheckModel's checks of parts about to be written; `what` names them in a refusal.
Status CheckModelParts(const CfModelParts& m, const std::string& what);
/// `key` (may be null): seal the file, or open a sealed one (models/common/model_file.h).
/// Streamed (models::StreamModelFile): nothing of the model is copied but 1 MiB pieces.
Status SaveCfModelParts(const std::string& path, const CfModelParts& model,
                        const privacy::EncryptionKey* key = nullptr);
/// `model`'s members as they are (unchecked), streamed.
Status SaveCfModel(const std::string& path, const CfModel& model,
                   const privacy::EncryptionKey* key = nullptr);
/// Loads DIR/model.ecps (or a file path) and checks it.
Result<CfModel> LoadCfModel(const std::string& dir_or_file,
                            const privacy::EncryptionKey* key = nullptr);

/// Top-n items for user `u` of the model, by the training rules (seen items excluded,
/// popular items after the scored ones when `fill`).
void RecommendForUser(const CfModel& m, const Popularity& pop, std::uint32_t u, std::size_t n, bool fill,
                      ItemScores* scores, std::vector<Scored>* out);

/// Top-n items of an item-based model for someone known only by the items they interacted
/// with (`items`: indices, sorted ascending and unique, each of weight 1, as implicit feedback
/// without recency): those items' neighbour lists (and content lists) summed as for a trained
/// user, the items themselves excluded, popular items after the scored ones when `fill`. For
/// a private model, which keeps no users, and for visitors the model never saw.
void RecommendFromItems(const CfModel& m, const Popularity& pop, std::span<const std::uint32_t> items,
                        std::size_t n, bool fill, ItemScores* scores, std::vector<Scored>* out);

}  // namespace ecps::models::cf
