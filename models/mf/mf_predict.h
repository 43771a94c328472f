// Predicted ratings for (user, item) pairs from a rating model (`ecps recommend
// --predict-pairs`, mf_model.h's PredictRating).
#pragma once

#include <string>
#include <vector>

#include "models/mf/mf_model.h"
#include "ps/status.h"

namespace ecps::models::mf {

struct RatingPair {
  std::string user, item;
};

/// Reads a CSV of pairs (- for standard input): user and item are the first two
/// comma-separated fields of each line (more fields, such as a rating, are ignored), an
/// optional first line `user,item,...` is a header. Refused (DataError, `file:line: ...`): a
/// line with fewer than two fields, an empty id.
Result<std::vector<RatingPair>> ReadRatingPairs(const std::string& path);

/// The CSV `user,item,rating,fallback` of every pair, in order; ratings clipped to the
/// model's range (%.6g). fallback: "" (both known), "item" (unknown user: mean + item bias),
/// "user" (unknown item: mean + user bias), "mean" (neither known). `lookup[i]` is the user id
/// as the model holds it (pseudonyms), `pairs[i].user` as printed. `model` must be a rating
/// model (m.rating()).
std::string PredictPairsCsv(const MfModel& model, const std::vector<RatingPair>& pairs,
                            const std::vector<std::string>& lookup);

}  // namespace ecps::models::mf
