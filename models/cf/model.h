// The saved collaborative-filtering model (DIR/model.ecps, kind "cf"): the id mappings,
// the neighbour lists, the training interactions by user and the item popularity — all
// that `ecps recommend` and `ecps similar` need, without the original data.
#pragma once

#include <cstdint>
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

/// Checks that the decoded parts fit together before anything indexes with them: sizes,
/// CSR pointers that start at 0, never decrease and end at their arrays' sizes, every index
/// in range, finite scores and values, known kind and scoring. A payload with a recomputed
/// checksum can hold anything.
Status CheckModel(const CfModel& m, const std::string& path);
/// `key` (may be null): seal the file, or open a sealed one (models/common/model_file.h).
Status SaveCfModel(const std::string& path, const CfModel& model,
                   const privacy::EncryptionKey* key = nullptr);
/// Loads DIR/model.ecps (or a file path) and checks it.
Result<CfModel> LoadCfModel(const std::string& dir_or_file,
                            const privacy::EncryptionKey* key = nullptr);

/// Top-n items for user `u` of the model, by the training rules (seen items excluded,
/// popular items after the scored ones when `fill`).
void RecommendForUser(const CfModel& m, const Popularity& pop, std::uint32_t u, std::size_t n, bool fill,
                      ItemScores* scores, std::vector<Scored>* out);

}  // namespace ecps::models::cf
