#include "models/mf/mf_predict.h"

#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "models/cf/ids.h"
#include "models/common/csv_field.h"
#include "util/input_file.h"
#include "worker/csv.h"

namespace ecps::models::mf {

Result<std::vector<RatingPair>> ReadRatingPairs(const std::string& path) {
  const bool from_stdin = path == "-";
  const std::string name = from_stdin ? "stdin" : path;
  std::ifstream file;
  if (!from_stdin) {
    const auto local = util::LocalInputPath(path);  // a gzip file is read decompressed
    if (local.ok()) file.open(*local, std::ios::binary);
    if (!local.ok() && local.status().code() != StatusCode::kNotFound) return local.status();
    if (!file.is_open() || !file) return NotFound(fmt::format("{}: cannot open the pair list", path));
  }
  std::istream& in = from_stdin ? std::cin : file;
  std::vector<RatingPair> pairs;
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto bad = [&](const std::string& what) {
      return DataError(fmt::format("{}:{}: {}", name, number, what));
    };
    if (Status s = worker::SplitCsv(line, ',', &fields, &scratch); !s.ok()) return bad(s.message());
    if (fields.size() < 2) {
      return bad(fmt::format("{} field(s); expected user,item (comma-separated)", fields.size()));
    }
    const auto user = worker::Trim(fields[0]), item = worker::Trim(fields[1]);
    if (number == 1 && user == "user" && item == "item") continue;
    if (user.empty()) return bad("field 1 (user): empty id");
    if (item.empty()) return bad("field 2 (item): empty id");
    pairs.push_back({std::string(user), std::string(item)});
  }
  if (in.bad()) return IoError(fmt::format("{}: read failed", name));
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
