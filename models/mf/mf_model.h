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

/// What the factors were trained for: top-N lists from implicit feedback (weighted ALS) or
/// rating prediction from explicit ratings (ALS on the observed ratings, mf_job.h).
enum class MfTask : std::uint8_t { kRanking = 0, kRating = 1 };

/// Format 2 adds the task and the rating model's baseline (global mean, biases, rating
/// range); format 1 files load as ranking models.
struct MfModel {
  static constexpr std::uint32_t kVersion = 2;
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
  MfTask task = MfTask::kRanking;
  // Rating task only (empty biases otherwise): a rating is predicted as
  // clip(global_mean + user_bias[u] + item_bias[j] + x_u . y_j, rating_min, rating_max).
  double global_mean = 0, rating_min = 0, rating_max = 0;
  std::vector<double> user_bias, item_bias;

  bool rating() const { return task == MfTask::kRating; }

  std::span<const std::uint32_t> Items(std::uint32_t u) const {
    return {train_item.data() + train_ptr[u], train_ptr[u + 1] - train_ptr[u]};
  }
  std::span<const double> User(std::uint32_t u) const {
    return {user_factors.data() + std::size_t{u} * factors, factors};
  }
  template <class A>
  void SerializeV1(A& ar) {
    ar(factors, regularization, alpha, iterations, user_ids, item_ids, user_factors, item_factors,
       train_ptr, train_item, item_count);
  }
  template <class A>
  void serialize(A& ar) {
    SerializeV1(ar);
    ar(task, global_mean, rating_min, rating_max, user_bias, item_bias);
  }
};

/// The predicted rating of user `u` for item `j` of a rating model, clipped to the training
/// ratings' range; u < 0 (an unknown user) leaves out the user's bias and factors, j < 0 the
/// item's (both unknown: the global mean).
double PredictRating(const MfModel& m, std::int64_t u, std::int64_t j);

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

/// Sets every item's score to y_j . x + item_bias[j] + offset (items: `y` has n_items rows
/// of x.size() factors; `item_bias` empty or one per item): the ranking of training
/// (recommendations.csv, metrics) and of `ecps recommend`. A rating model's scores are its
/// predicted ratings before clipping (offset = global mean + the user's bias).
void ScoreAllItems(std::span<const double> y, std::span<const double> x,
                   std::span<const double> item_bias, double offset, cf::ItemScores* scores);

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
