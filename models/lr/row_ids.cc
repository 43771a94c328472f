#include "models/lr/row_ids.h"

#include <deque>
#include <string_view>

#include <fmt/format.h>

#include "worker/csv.h"
#include "worker/feature_csv.h"
#include "worker/line_reader.h"

namespace ecps::models::lr {

std::vector<std::uint64_t> RowOffsets(const worker::SparseData& data) {
  std::vector<std::uint64_t> offsets(data.rows());
  for (std::size_t r = 0; r < data.rows(); ++r) offsets[r] = data.id(r);
  return offsets;
}

Result<std::vector<std::string>> RowIds(const std::string& path,
                                        std::span<const std::uint64_t> offsets,
                                        const std::string& id_column, char delimiter, bool csv) {
  const bool by_line = id_column == worker::kLineId;
  ECPS_ASSIGN_OR_RETURN(auto reader, worker::LineReader::OpenFile(
                                         path, csv ? worker::CsvRecords(delimiter) : worker::ReadOptions{}));
  std::vector<std::string> ids;
  ids.reserve(offsets.size());
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  std::size_t column = 0;
  std::string_view line;
  for (bool first = true; ids.size() < offsets.size(); first = false) {
    ECPS_ASSIGN_OR_RETURN(bool got, reader->Next(&line));
    if (!got) {
      return DataError(fmt::format("{}: ended before row {} of {} (was the file changed?)", path,
                                   ids.size() + 1, offsets.size()));
    }
    if (!by_line && first) {
      auto header = worker::CsvHeader::Parse(line, delimiter, path);
      if (!header.ok()) return DataError(header.status().message());
      auto found = header->Find(id_column);
      if (!found.ok()) return DataError(fmt::format("--id-column: {}", found.status().message()));
      column = *found;
    }
    if (reader->offset() != offsets[ids.size()]) continue;
    if (by_line) {
      ids.push_back(fmt::format("{}", reader->LineNumber()));
      continue;
    }
    scratch.clear();
    Status split = worker::SplitCsv(line, delimiter, &fields, &scratch);
    if (!split.ok()) return DataError(fmt::format("{}: {}", reader->Where(), split.message()));
    if (column >= fields.size()) {
      return DataError(fmt::format("{}: no field for the id column \"{}\" ({} fields)", reader->Where(),
                                   id_column, fields.size()));
    }
    ids.emplace_back(fields[column]);
  }
  return ids;
}

}  // namespace ecps::models::lr
