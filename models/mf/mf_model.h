// The saved matrix-factorisation model (DIR/model.ecps, kind "mf"): ids, user and item
// factors, the training items of each user (excluded from recommendations) and the item
// popularity (the tie-break and the fallback for unknown users), as `ecps recommend` and
// `ecps similar` read it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "models/cf/ids.h"
#include "models/cf/scoring.h"
#include "privacy/sealed.h"
#include "ps/status.h"

namespace ecps::models::mf {

struct MfModel {
  static constexpr std::uint32_t kVersion = 1;
  static constexpr const char* kKind = "mf";

  std::uint32_t factors = 0;
  double regularization = 0, alpha = 0;
  std::uint32_t iterations = 0;
  std::vector<std::string> user_ids, item_ids;
  std::vector<double> user_factors;  ///< n_users x factors, row-major
  std::vector<double> item_factors;  ///< n_items x factors, row-major
  std::vector<std::uint64_t> train_ptr;   ///< per user: its training items in train_item
  std::vector<std::uint32_t> train_item;  ///< ascending within a user
  std::vector<std::uint32_t> item_count;  ///< training interactions per item

  std::span<const std::uint32_t> Items(std::uint32_t u) const {
    return {train_item.data() + train_ptr[u], train_ptr[u + 1] - train_ptr[u]};
  }
  std::span<const double> User(std::uint32_t u) const {
    return {user_factors.data() + std::size_t{u} * factors, factors};
  }
  template <class A>
  void serialize(A& ar) {
    ar(factors, regularization, alpha, iterations, user_ids, item_ids, user_factors, item_factors,
       train_ptr, train_item, item_count);
  }
};

/// Sizes, CSR pointers, indices in range, finite factors (a payload with a recomputed
/// checksum can hold anything).
Status CheckMfModel(const MfModel& m, const std::string& path);
Status SaveMfModel(const std::string& path, const MfModel& m,
                   const privacy::EncryptionKey* key = nullptr);
/// Loads DIR/model.ecps (or a file path) and checks it.
Result<MfModel> LoadMfModel(const std::string& dir_or_file,
                            const privacy::EncryptionKey* key = nullptr);
/// True when DIR/model.ecps (or the file) is an mf model; an error when it is no model.
Result<bool> IsMfModel(const std::string& dir_or_file, const privacy::EncryptionKey* key = nullptr);

/// Sets every item's score to y_j . x (items: `y` has n_items rows of x.size() factors):
/// the ranking of training (recommendations.csv, metrics) and of `ecps recommend`.
void ScoreAllItems(std::span<const double> y, std::span<const double> x, cf::ItemScores* scores);

/// Answers users of one model (cf::Recommender's contract: seen items excluded, ties and
/// the fill by popularity, unknown users get the popular items and true). `model` must
/// outlive it. Not thread-safe.
class MfRecommender {
 public:
  explicit MfRecommender(const MfModel& model);
  bool Recommend(std::string_view user, std::size_t n, bool fill, std::vector<cf::Scored>* out);

 private:
  const MfModel& model_;
  cf::IdIndex users_;
  cf::Popularity pop_;
  cf::ItemScores scores_;
};

/// The n items whose factors have the largest cosine with item `item`'s (itself excluded),
/// best first, ties by the smaller index.
std::vector<cf::Scored> SimilarItems(const MfModel& model, std::uint32_t item, std::size_t n);

}  // namespace ecps::models::mf
