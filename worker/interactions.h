// Interaction files for recommenders: one `user item [rating [timestamp]]` record per line.
//
// Fields are separated by commas (RFC 4180 quoting allowed), tabs, or runs of spaces; the
// separator and the number of columns (2 to 4) are taken from the file's first line, and
// every line must have that many fields. A first line whose user/item fields are column
// names (user, user_id, item, product, ...) or whose rating/timestamp fields are not
// numbers is a header. Without a header the third column is the rating and the fourth the
// timestamp; with one, the third and fourth columns are matched by name, so
// `user_id,item_id,timestamp` is read as a time-stamped implicit file. Ids are arbitrary strings (integers included); a timestamp is
// a finite number (only its order is used); a rating a finite number within
// kMaxDataMagnitude (csv.h). Blank lines are ignored.
//
// A bad row is an error naming file, line and field, unless the reader was asked to skip
// bad rows; then it counts them and keeps the first few messages for the report.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
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

struct InteractionFormat {
  /// ',' (CSV), '\t' (tab) or ' ' (runs of spaces and tabs).
  char delimiter = ' ';
  /// 2 (user item), 3 (+ rating) or 4 (+ rating + timestamp).
  int columns = 2;
  /// True when the file's first line is a header (skipped by the reader).
  bool header = false;

  /// Field index of the rating and of the timestamp; -1 when the file has none.
  int rating_column = -1;
  int timestamp_column = -1;

  bool has_rating() const { return rating_column >= 0; }
  bool has_timestamp() const { return timestamp_column >= 0; }
  /// "comma-separated, 3 columns (user item rating), header" for logs.
  std::string Describe() const;
};

/// Reads the first line of `path` and decides the separator, the column count and whether
/// it is a header (`mode` forces the latter). kNotFound for a missing file; kDataError for
/// an empty file or a first line without 2 to 4 fields.
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
