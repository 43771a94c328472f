#include "models/cf/attributes.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "worker/csv.h"
#include "worker/csv_scan.h"
#include "worker/line_reader.h"

namespace ecps::models::cf {
namespace {

char Delimiter(const std::string& header) { return header.find(',') != std::string::npos ? ',' : '\t'; }

constexpr std::size_t kSampleRows = 256;  // rows read before reserving for the whole range

// Bytes of `range` (a hint: the size of the file as stored, 0 when unknown).
std::uint64_t RangeBytes(const sched::FileRange& range) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(range.path, ec);
  if (ec) return 0;
  return std::min(size, range.end) - std::min(size, range.begin);
}

// Reserves room for the rows of the range, from the first `rows` rows (`bytes` long): the
// tables of values would otherwise be copied a few times over as they grow.
void ReserveRows(std::uint64_t range_bytes, std::uint64_t bytes, std::size_t rows,
                 AttributeRows* out) {
  if (bytes == 0 || rows == 0) return;
  const std::uint64_t per_row = std::max<std::uint64_t>(1, bytes / rows);
  const auto expect = static_cast<std::size_t>(range_bytes / per_row * 9 / 8);
  out->item_ids.reserve(out->item_ids.size() + expect);
  out->values.reserve(out->values.size() + expect * out->columns.size());
}

}  // namespace

Status ReadAttributes(const sched::FileRange& range, const std::string& id_column, AttributeRows* out) {
  ECPS_ASSIGN_OR_RETURN(std::string first_line, worker::ReadFirstLine(range.path));
  worker::ReadOptions options;  // quoted fields may span lines
  options.csv_records = true;
  options.delimiter = Delimiter(first_line);
  const char delim = options.delimiter;
  ECPS_ASSIGN_OR_RETURN(std::string first, worker::ReadFirstRecord(range.path, options));
  ECPS_ASSIGN_OR_RETURN(auto header, worker::CsvHeader::Parse(first, delim, range.path));
  std::size_t id = 0;
  if (!id_column.empty()) {
    ECPS_ASSIGN_OR_RETURN(id, header.Find(id_column));
  }
  if (header.names().size() < 2) {
    return DataError(fmt::format("{}:1: an attributes file needs an item id column and at least one attribute",
                                 range.path));
  }
  out->columns.clear();
  for (std::size_t c = 0; c < header.names().size(); ++c) {
    if (c != id) out->columns.push_back(header.names()[c]);
  }
  ECPS_ASSIGN_OR_RETURN(auto records, worker::CsvFields::Open(range, delim));
  std::vector<std::string_view> fields;
  const std::uint64_t range_bytes = RangeBytes(range);
  std::uint64_t first_offset = UINT64_MAX;
  for (std::size_t rows = 0;; ++rows) {
    auto more = records->Next(&fields);
    if (!more.ok()) return more.status().WithContext(records->Where());
    if (!*more) break;
    if (first_offset == UINT64_MAX) first_offset = records->offset();
    if (rows == kSampleRows) ReserveRows(range_bytes, records->offset() - first_offset, rows, out);
    if (records->offset() == 0 || records->blank()) continue;  // header, blank
    if (fields.size() != header.names().size()) {
      return DataError(fmt::format("{}: expected {} fields as in the header, found {}",
                                   records->Where(), header.names().size(), fields.size()));
    }
    const auto item = worker::Trim(fields[id]);
    if (item.empty()) return DataError(fmt::format("{}: empty item id", records->Where()));
    out->item_ids.emplace_back(item);
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (c != id) out->values.emplace_back(worker::Trim(fields[c]));
    }
  }
  return Status::Ok();
}

Result<ItemFeatures> BuildItemFeatures(const std::vector<std::string>& columns,
                                       const std::vector<std::uint32_t>& item_index,
                                       const std::vector<std::string>& values, std::uint32_t n_items,
                                       int numeric_bands, const std::vector<std::string>& item_ids,
                                       const std::string& path) {
  const std::size_t nc = columns.size(), rows = item_index.size();
  // Column kinds and quantile band edges.
  std::vector<bool> numeric(nc, true);
  std::vector<std::vector<double>> edges(nc);
  for (std::size_t c = 0; c < nc; ++c) {
    std::vector<double> v;
    for (std::size_t r = 0; r < rows; ++r) {
      const auto& s = values[r * nc + c];
      if (s.empty()) continue;
      auto d = worker::ParseDouble(s);
      if (!d) {
        numeric[c] = false;
        break;
      }
      v.push_back(*d);
    }
    if (v.empty()) numeric[c] = false;
    if (!numeric[c]) continue;
    std::sort(v.begin(), v.end());
    for (int b = 1; b < numeric_bands; ++b) {
      edges[c].push_back(v[v.size() * static_cast<std::size_t>(b) / static_cast<std::size_t>(numeric_bands)]);
    }
    edges[c].erase(std::unique(edges[c].begin(), edges[c].end()), edges[c].end());
  }
  // Feature strings per row, then dense indices in sorted order (deterministic).
  std::vector<std::vector<std::string>> row_feats(rows);
  std::map<std::string, std::uint32_t> index;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < nc; ++c) {
      const auto& s = values[r * nc + c];
      if (s.empty()) continue;
      std::string f;
      if (numeric[c]) {
        const double d = *worker::ParseDouble(s);
        const auto band = std::upper_bound(edges[c].begin(), edges[c].end(), d) - edges[c].begin();
        f = fmt::format("{}#{}", columns[c], band);
      } else {
        f = columns[c] + "=" + s;
      }
      index.emplace(f, 0);
      row_feats[r].push_back(std::move(f));
    }
  }
  ItemFeatures out;
  for (auto& [name, i] : index) {
    i = static_cast<std::uint32_t>(out.names.size());
    out.names.push_back(name);
  }
  std::vector<std::int64_t> row_of(n_items, -1);
  for (std::size_t r = 0; r < rows; ++r) {
    auto& slot = row_of[item_index[r]];
    if (slot >= 0) {
      return DataError(fmt::format("{}: item \"{}\" appears more than once", path, item_ids[item_index[r]]));
    }
    slot = static_cast<std::int64_t>(r);
  }
  out.ptr.assign(1, 0);
  std::vector<std::uint32_t> f;
  for (std::uint32_t i = 0; i < n_items; ++i) {
    if (row_of[i] >= 0) {
      f.clear();
      for (const auto& name : row_feats[static_cast<std::size_t>(row_of[i])]) f.push_back(index[name]);
      std::sort(f.begin(), f.end());
      f.erase(std::unique(f.begin(), f.end()), f.end());
      out.feat.insert(out.feat.end(), f.begin(), f.end());
      out.items_with_attributes += f.empty() ? 0 : 1;
    }
    out.ptr.push_back(out.feat.size());
  }
  return out;
}

}  // namespace ecps::models::cf
