// Recommendations and neighbours from a loaded CF model for any number of users or items
// (`ecps recommend`, `ecps similar`), and the list of ids a batch of them is read from.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/cf/ids.h"
#include "models/cf/model.h"
#include "models/cf/scoring.h"
#include "ps/status.h"

namespace ecps::models::cf {

/// Answers users of one model; holds the id index, the popularity order and one scratch of
/// item scores, so a batch costs one model load. `model` must outlive it. Not thread-safe.
class Recommender {
 public:
  explicit Recommender(const CfModel& model);
  /// The top-n items for `user` (RecommendForUser) into *out. A user the model does not know
  /// gets the n most popular items (scores: their training counts) and the answer true (the
  /// popularity fallback); a known user false.
  bool Recommend(std::string_view user, std::size_t n, bool fill, std::vector<Scored>* out);
 private:
  const CfModel& model_;
  IdIndex users_;
  Popularity pop_;
  ItemScores scores_;
};

/// For an item-based model: RecommendFromItems for someone who interacted with the items
/// `ids` (as in the training file, any order; a repeated id counts once), known to the model
/// or not. Ids that `items` (the index of m.item_ids) does not know are skipped and appended
/// to *unknown; with none known the answer is the n most popular items and true (the
/// popularity fallback). `ecps recommend --history` and serve's "history".
bool RecommendFromItemIds(const CfModel& m, const IdIndex& items, const Popularity& pop,
                          std::span<const std::string_view> ids, std::size_t n, bool fill,
                          ItemScores* scores, std::vector<Scored>* out,
                          std::vector<std::string_view>* unknown);

/// The first n (at most) neighbours of entity `e` of `model` (items of an itemcf model, users
/// of a usercf one), best first: its CF neighbours, or its attribute neighbours for a cold
/// item (then *cold is set true).
std::vector<Scored> NeighborsOf(const CfModel& model, std::uint32_t e, std::size_t n, bool* cold);

/// The ids of `path` ("-": standard input), one per line, each line one CSV field (quotes
/// allowed: "a,b" is the id a,b). A blank line, more than one field, a broken quote or spaces
/// around the id are kDataError naming the file (stdin for "-") and the line.
Result<std::vector<std::string>> ReadIdList(const std::string& path);

}  // namespace ecps::models::cf
