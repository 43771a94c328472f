#include "models/cf/recommender.h"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "util/input_file.h"
#include "worker/csv.h"

namespace ecps::models::cf {

Recommender::Recommender(const CfModel& model)
    : model_(model),
      users_(model.user_ids),
      pop_(Popularity::From(model.item_count)),
      scores_(static_cast<std::uint32_t>(model.item_ids.size())) {}

bool Recommender::Recommend(std::string_view user, std::size_t n, bool fill,
                            std::vector<Scored>* out) {
  const std::int64_t u = users_.Find(user);
  if (u < 0) {
    PopularTop(n, {}, pop_, out);
    return true;
  }
  RecommendForUser(model_, pop_, static_cast<std::uint32_t>(u), n, fill, &scores_, out);
  return false;
}

bool RecommendFromItemIds(const CfModel& m, const IdIndex& items, const Popularity& pop,
                          std::span<const std::string_view> ids, std::size_t n, bool fill,
                          ItemScores* scores, std::vector<Scored>* out,
                          std::vector<std::string_view>* unknown) {
  std::vector<std::uint32_t> known;
  for (const std::string_view id : ids) {
    const std::int64_t i = items.Find(id);
    if (i < 0) {
      unknown->push_back(id);
    } else {
      known.push_back(static_cast<std::uint32_t>(i));
    }
  }
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  if (known.empty()) {
    PopularTop(n, {}, pop, out);
    return true;
  }
  RecommendFromItems(m, pop, known, n, fill, scores, out);
  return false;
}

std::vector<Scored> NeighborsOf(const CfModel& model, std::uint32_t e, std::size_t n, bool* cold) {
  *cold = model.item_based() && model.Mix().Cold(e);
  const NeighborLists& lists = *cold ? model.content : model.neighbors;
  auto ids = lists.Ids(e);
  auto scores = lists.Scores(e);
  std::vector<Scored> out;
  for (std::size_t t = 0; t < ids.size() && out.size() < n; ++t) {
    if (ids[t] == NeighborLists::kNone) break;
    out.push_back({ids[t], scores[t]});
  }
  return out;
}

namespace {

// The id on one line of an id list, or what is wrong with the line.
Result<std::string> IdOnLine(std::string_view line) {
  if (worker::Trim(line).empty()) return DataError("blank line: one user id per line");
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  ECPS_RETURN_IF_ERROR(worker::SplitCsv(line, ',', &fields, &scratch));
  if (fields.size() != 1) {
    return DataError(fmt::format("{} comma-separated fields; one user id per line (quote an id "
                                 "that holds a comma)", fields.size()));
  }
  if (worker::Trim(fields[0]).size() != fields[0].size()) {
    return DataError(fmt::format("spaces around the id \"{}\"", fields[0]));
  }
  if (fields[0].empty()) return DataError("empty id \"\"");
  return std::string(fields[0]);
}

}  // namespace

Result<std::vector<std::string>> ReadIdList(const std::string& path) {
  std::vector<std::string> ids;
  const auto take = [&ids](std::string_view line, std::size_t) -> Status {
    ECPS_ASSIGN_OR_RETURN(auto id, IdOnLine(line));
    ids.push_back(std::move(id));
    return Status::Ok();
  };
  const Status read = util::ForEachListLine(path, "user list", take);
  if (!read.ok()) return read;
  return ids;
}

}  // namespace ecps::models::cf
