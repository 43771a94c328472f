// One field of a CSV file that ecps writes (RFC 4180, as the readers in worker/ read it).
#pragma once

#include <string>
#include <string_view>

namespace ecps::models {

/// Appends `s` to `out` as one CSV field: as it is, or quoted with inner quotes doubled when
/// it holds a comma, a quote or a line break.
void AppendCsvField(std::string* out, std::string_view s);

/// `s` as one CSV field (see AppendCsvField).
std::string CsvField(std::string_view s);

}  // namespace ecps::models
