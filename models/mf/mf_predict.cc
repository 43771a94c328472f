#include "models/mf/mf_predict.h"

#include <cstdio>
#include <deque>

#include <fmt/format.h>

#include "models/cf/ids.h"
#include "models/common/csv_field.h"
#include "util/input_file.h"
#include "worker/csv.h"

namespace ecps::models::mf {

Result<std::vector<RatingPair>> ReadRatingPairs(const std::string& path) {
  std::vector<RatingPair> pairs;
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  const auto take = [&](std::string_view line, std::size_t number) -> Status {
    ECPS_RETURN_IF_ERROR(worker::SplitCsv(line, ',', &fields, &scratch));
    if (fields.size() < 2) {
      return DataError(
          fmt::format("{} field(s); expected user,item (comma-separated)", fields.size()));
    }
    const auto user = worker::Trim(fields[0]), item = worker::Trim(fields[1]);
    if (number == 1 && user == "user" && item == "item") return Status::Ok();
    if (user.empty()) return DataError("field 1 (user): empty id");
    if (item.empty()) return DataError("field 2 (item): empty id");
    pairs.push_back({std::string(user), std::string(item)});
    return Status::Ok();
  };
  const Status read = util::ForEachListLine(path, "pair list", take);
  if (!read.ok()) return read;
  return pairs;
}

std::string PredictPairsCsv(const MfModel& model, const std::vector<RatingPair>& pairs,
                            const std::vector<std::string>& lookup) {
  const cf::IdIndex users(model.user_ids), items(model.item_ids);
  std::string text = "user,item,rating,fallback\n";
  char rating[64];
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const std::int64_t u = users.Find(lookup[i]), j = items.Find(pairs[i].item);
    std::snprintf(rating, sizeof rating, "%.6g", PredictRating(model, u, j));
    const char* fallback = u >= 0 ? (j >= 0 ? "" : "user") : (j >= 0 ? "item" : "mean");
    text += fmt::format("{},{},{},{}\n", CsvField(pairs[i].user), CsvField(pairs[i].item), rating,
                        fallback);
  }
  return text;
}

}  // namespace ecps::models::mf
