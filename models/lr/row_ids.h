// The row ids `ecps predict` writes beside its scores: the 1-based line number of each row
// in its file, or for CSV input the value of a named id column.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ps/status.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

/// The byte offset of every row of `data` read from one file (its example ids).
std::vector<std::uint64_t> RowOffsets(const worker::SparseData& data);

/// The id of each row of `path` that starts at one of `offsets` (byte offsets, ascending, as
/// worker::SparseData::id gives them for file index 0): with `id_column` "@line"
/// (worker::kLineId) the 1-based line number (of the line where a CSV record starts),
/// otherwise the value of that column of the CSV file (header on line 1, fields split at
/// `delimiter`; "" names an unnamed column). `csv`: rows are CSV records whose quoted fields
/// may span lines (as LoadRows reads them); else lines. Errors are kDataError naming the file
/// (and the line of a row without the column); an unknown column lists the file's columns.
Result<std::vector<std::string>> RowIds(const std::string& path,
                                        std::span<const std::uint64_t> offsets,
                                        const std::string& id_column, char delimiter, bool csv);

}  // namespace ecps::models::lr
