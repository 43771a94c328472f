// Interaction files for recommenders: one `user item [rating [timestamp]]` record per line.
//
// Fields are separated by `::` (MovieLens), commas (RFC 4180 quoting allowed), tabs, or runs
// of spaces, detected in that order from the file's first line, or by any one character given
// as --delimiter (split as CSV); every line must have as many fields as the first. With a
// CSV separator (anything but tabs and spaces) records are CSV records: a quoted field may
// hold the separator, "" for a quote and line breaks (worker/line_reader.h); a row's line in
// messages is the line where its record starts. A first
// line whose user/item fields are column names (user, user_id, item, product, ...) or whose
// rating/timestamp fields are not numbers is a header.
//
// Column roles: --columns gives them (InteractionColumns); otherwise the file has 2 to 4
// columns, user and item first. A third or fourth column is a timestamp or a rating by its
// header name (timestamp, time, ts, date ... / rating, score, stars ...), else by its values
// in the first rows: integers from 1e8 to 1e13 (epoch seconds or milliseconds) are a
// timestamp, values within +-1e6 a rating; anything else is refused with a message asking
// for --columns. Each role and how it was decided is in InteractionFormat::roles (logged and
// written to metrics.json). Ids are arbitrary strings (integers included); a timestamp is a
// finite number (only its order is used); a rating a finite number within kMaxDataMagnitude
// (csv.h). Blank lines are ignored.
//
// A bad row is an error naming file, line and field, unless the reader was asked to skip
// bad rows; then it counts them and keeps the first few messages for the report.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ps/status.h"
#include "scheduler/shard_plan.h"
#include "worker/line_reader.h"

namespace ecps::worker {

enum class HeaderMode { kAuto, kYes, kNo };

/// "auto", "yes"/"true" or "no"/"false".
Result<HeaderMode> ParseHeaderMode(std::string_view s);

/// What the user said about an interaction file.
struct InteractionOptions {
  HeaderMode header = HeaderMode::kAuto;
  /// A --delimiter value (ParseDelimiter); unset: detected from the first line.
  std::optional<char> delimiter;
  /// --columns, "" when not given. Either one role per column, in the file's order
  /// ("user,item,timestamp"; "-" skips a column), or ROLE=COLUMN pairs whose COLUMN is a
  /// header name or a 1-based position ("user=customer_id,item=sku,rating=4"). Roles: user,
  /// item (both required), rating, timestamp.
  std::string columns;
};

struct InteractionFormat {
  /// ',' (CSV), '\t' (tab), ' ' (runs of spaces and tabs), kDoubleColon, or any other
  /// character (split as CSV).
  char delimiter = ' ';
  /// Fields per line: 2 to 4, or any number with --columns.
  int columns = 2;
  /// True when the file's first line is a header (skipped by the reader).
  bool header = false;

  /// Field index of each role; -1 when the file has no rating / timestamp.
  int user_column = 0;
  int item_column = 1;
  int rating_column = -1;
  int timestamp_column = -1;
  /// How each role was decided, for the log and metrics.json:
  /// "timestamp: column 3, inferred from its values (integers from 1e8: epoch times)".
  std::vector<std::string> roles;

  bool has_rating() const { return rating_column >= 0; }
  bool has_timestamp() const { return timestamp_column >= 0; }
  /// "comma-separated, 3 columns (user item rating), header" for logs.
  std::string Describe() const;
  /// "user item rating" ("-" for a skipped column).
  std::string ColumnList() const;
};

/// Reads the first lines of `path` and decides the separator, the column roles and whether
/// the first is a header. kNotFound for a missing file; kDataError for an empty file, a first
/// line without 2 to 4 fields (without --columns) or a column whose role cannot be told;
/// kInvalidArgument for a malformed --columns.
Result<InteractionFormat> DetectInteractionFormat(const std::string& path,
                                                  const InteractionOptions& options);
/// The same with only a header mode.
Result<InteractionFormat> DetectInteractionFormat(const std::string& path, HeaderMode mode);

/// One parsed record. The ids view the reader's line (or scratch): valid until the next call.
struct InteractionRow {
  std::string_view user;
  std::string_view item;
  double rating = 1.0;     ///< 1 when the file has no rating column
  double timestamp = 0.0;  ///< 0 when the file has no timestamp column
};

/// Parses one line. Returns false for a blank line (nothing parsed). kDataError describes
/// the problem without the location ("expected 3 fields ..., found 2"); callers prefix it.
Result<bool> ParseInteractionLine(std::string_view line, const InteractionFormat& format,
                                  InteractionRow* row, std::vector<std::string_view>* fields,
                                  std::deque<std::string>* scratch);

/// Streams the records of one byte range (see sched::FileRange), skipping the header when
/// the range starts the file.
class InteractionReader {
 public:
  static Result<std::unique_ptr<InteractionReader>> Open(const sched::FileRange& range,
                                                         const InteractionFormat& format,
                                                         bool skip_bad_rows);
  /// Next good record; false at the end of the range. A bad row fails with "path:line: ..."
  /// unless skipping, in which case it is counted and the next good row is returned.
  Result<bool> Next(InteractionRow* row);
  /// Byte offset of the last record returned: a global order of the file's lines.
  std::uint64_t offset() const { return lines_->offset(); }
  std::uint64_t skipped() const { return skipped_; }
  /// The first few skipped rows' messages ("path:line: ...").
  const std::vector<std::string>& skipped_examples() const { return examples_; }

  static constexpr std::size_t kMaxExamples = 5;

 private:
  InteractionReader(std::unique_ptr<LineReader> lines, InteractionFormat format, bool skip, bool header)
      : lines_(std::move(lines)), format_(format), skip_(skip), pending_header_(header) {}

  std::unique_ptr<LineReader> lines_;
  InteractionFormat format_;
  bool skip_;
  bool pending_header_;
  std::vector<std::string_view> fields_;
  std::deque<std::string> scratch_;
  std::uint64_t skipped_ = 0;
  std::vector<std::string> examples_;
};

}  // namespace ecps::worker
