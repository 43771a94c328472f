// CSV fields: splitting one record (RFC 4180 quoting: "a,b" and "say ""hi"""), finding
// columns by header name, and parsing numbers with messages that name file, line and column.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ps/status.h"

namespace ecps::worker {

/// The `delim` value standing for the two-character separator `::` (MovieLens .dat files).
inline constexpr char kDoubleColon = '\0';

/// A --delimiter value: one character ("tab" or "\t" for a tab) or "::". The double quote and
/// line breaks are refused (kInvalidArgument naming `option`).
Result<char> ParseDelimiter(std::string_view s, std::string_view option);
/// How a delimiter is written in logs and messages: ",", "tab", "::", ";".
std::string DelimiterName(char delim);

/// Splits `line` (no line ending; a record of LineReader's CSV records may hold line breaks
/// inside quotes) at `delim` (a character or kDoubleColon) into `fields`, unquoting quoted
/// fields.
/// Views point into `line` or into `scratch` (for fields that contained doubled quotes; a
/// deque, so earlier views stay valid as it grows).
/// Fails on an unterminated quote ("field 2: unterminated quote (...)": a line break inside
/// quotes in a reader of lines, or a quote that runs to the end of the file in a reader of
/// CSV records; "field 3: unterminated quote opened 2 lines below the record's first (...)"
/// when an earlier quoted field of the record held line breaks) or text after a closing quote.
Status SplitCsv(std::string_view line, char delim, std::vector<std::string_view>* fields,
                std::deque<std::string>* scratch);

/// A parsed header: column names and lookup by name.
class CsvHeader {
 public:
  /// Fails (naming `path`, line 1 and the column) when two columns have the same name: a
  /// lookup by name could not tell them apart.
  static Result<CsvHeader> Parse(std::string_view line, char delim, const std::string& path);
  const std::vector<std::string>& names() const { return names_; }
  /// Index of `name`, or kNotFound naming the file and listing the columns.
  Result<std::size_t> Find(std::string_view name) const;

 private:
  std::string path_;
  std::vector<std::string> names_;
};

/// Parses a whole field as a finite double ("1", "-2.5e3", " 3 " with spaces trimmed).
std::optional<double> ParseDouble(std::string_view s);

/// The largest magnitude a data value may have where the models compute with it (features,
/// ratings, regression labels). The transforms applied to such values stay far from overflow
/// at this bound: it fits float32 (3.4e38), where features are stored; squares and products of
/// two values (1e30: z-scoring sums, squared distances, X'X, rating products) summed over up to
/// 2^53 rows stay below 1e46, far from the float64 limit (1.8e308); integers up to it are exact
/// in float64. Readers refuse a larger value (DataLimitMessage) instead of letting it turn a
/// model into NaN.
inline constexpr double kMaxDataMagnitude = 1e15;
/// Whether |v| <= kMaxDataMagnitude (false for NaN and infinities).
inline bool WithinDataLimit(double v) { return v >= -kMaxDataMagnitude && v <= kMaxDataMagnitude; }
/// "1e300 is beyond the limit on data values (|x| <= 1e15)": for a value that parsed but is
/// not WithinDataLimit; the caller adds the column or feature.
std::string DataLimitMessage(std::string_view token);
/// Parses a boolean or 0/1 label: true/false (any case), yes/no, 1/0, -1/+1 (as 0/1).
std::optional<int> ParseBinaryLabel(std::string_view s);
/// Trims spaces and tabs from both ends.
inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace ecps::worker
