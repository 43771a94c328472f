// LineReader: streams the lines (or CSV records) of one byte range of a file (see
// sched::FileRange for the rule that gives every line to exactly one range). Memory is one
// buffer (1 MiB, more only for a longer record), whatever the file size; a line is a view into
// it. Line numbers for error messages are computed only when asked for. Gzip files, pipes and
// standard input ("-") are read through their decompressed copy (util/input_file.h); messages
// name the path as given.
//
// CSV records (ReadOptions::csv_records): a quoted field may hold line breaks (RFC 4180), so
// a record may span lines. A quote opens a quoted field only at the start of a field (after
// the delimiter or at the start of the record); "" inside it is a quote. A range that does not
// start the file starts at the first record that begins at or after range.begin, found by
// reading the file from its start (fast while no quote has been seen: then every line break
// ends a record); CutIntoPieces cuts a range into pieces at record starts in one pass, so that
// pieces need no such scan. An unterminated quote makes the record run to the end of the file
// (SplitCsv then names it). Line numbers are those of the physical line where a record starts.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ps/status.h"
#include "scheduler/shard_plan.h"

namespace ecps::worker {

struct ReadOptions {
  /// Records are CSV records separated by `delimiter` (a character or kDoubleColon, csv.h)
  /// whose quoted fields may span lines; false: every line break ends a record.
  bool csv_records = false;
  char delimiter = ',';
  /// The range's begin is known to be a record start (a piece from CutIntoPieces): no scan.
  bool begin_is_record = false;
};

class LineReader {
 public:
  /// Opens `range` of its file. kNotFound/kIoError name the path.
  static Result<std::unique_ptr<LineReader>> Open(const sched::FileRange& range,
                                                  const ReadOptions& options = {});
  /// The whole file.
  static Result<std::unique_ptr<LineReader>> OpenFile(const std::string& path,
                                                      const ReadOptions& options = {});
  ~LineReader();

  /// Reads the next line (record) into *line, without its final "\n" or "\r\n"; false at the
  /// end of the range. The view stays valid until the next call. kIoError on a failed read.
  Result<bool> Next(std::string_view* line) {
    if (head_ < tail_ && pos_ + head_ < end_) {
      const char* b = buf_.data() + head_;
      const auto* nl = static_cast<const char*>(std::memchr(b, '\n', tail_ - head_));
      // CSV records: a line before the next quote in the buffer is a whole record.
      if (nl && (!options_.csv_records || nl < buf_.data() + quote_free_)) {
        const auto len = static_cast<std::size_t>(nl - b);
        line_offset_ = pos_ + head_;
        head_ += len + 1;
        *line = std::string_view(b, len - (len > 0 && b[len - 1] == '\r'));
        return true;
      }
    }
    return NextSlow(line);
  }

  /// Byte offset of the last line returned.
  std::uint64_t offset() const { return line_offset_; }
  /// 1-based line number of the last line returned (counts newlines before it on first use
  /// and then incrementally; meant for error messages and skipped-row reports).
  std::uint64_t LineNumber();
  const std::string& path() const { return path_; }
  /// "path:line" for messages.
  std::string Where();

 private:
  friend Result<std::vector<sched::FileRange>> CutIntoPieces(const sched::FileRange& range,
                                                             std::uint64_t piece_bytes,
                                                             const ReadOptions& options);
  LineReader(std::string path, std::string local, int fd, std::uint64_t begin, std::uint64_t end,
             const ReadOptions& options);
  Result<bool> NextSlow(std::string_view* line);
  // Reads more bytes after tail_ (moving the unread ones to the front, growing the buffer
  // when it is full); false at the end of the file.
  Result<bool> Fill();

  std::string path_;   // as given (for messages)
  std::string local_;  // the plain file read (util::LocalInputPath)
  int fd_;
  std::uint64_t end_;  // lines must start before this offset
  std::uint64_t pos_;  // file offset of buf_[0]
  ReadOptions options_;
  std::vector<char> buf_;
  std::size_t head_ = 0, tail_ = 0;  // unread bytes are buf_[head_, tail_)
  std::size_t quote_free_ = 0;       // csv_records: no quote in buf_[head_, quote_free_)
  bool eof_ = false;
  std::uint64_t line_offset_ = 0;
  // Incremental line counting: newlines in [0, counted_to_) = counted_lines_.
  std::uint64_t counted_to_ = 0;
  std::uint64_t counted_lines_ = 0;
};

/// Options for reading CSV records separated by `delimiter` (a character or kDoubleColon).
inline ReadOptions CsvRecords(char delimiter) {
  ReadOptions o;
  o.csv_records = true;
  o.delimiter = delimiter;
  return o;
}

/// Reads the first line of `path` (e.g. a CSV header), without its line ending.
Result<std::string> ReadFirstLine(const std::string& path);

/// The first record of `path` (options.csv_records: quoted fields may span lines).
Result<std::string> ReadFirstRecord(const std::string& path, const ReadOptions& options);

/// kIoError for a file of `size_now` bytes that should reach `planned_end` (the end of the part
/// being read, planned from the file's size): it was cut while the run read it, and reading on
/// would silently drop its last rows. LineReader and CsvFields return it.
Status FileShrank(const std::string& path, std::uint64_t size_now, std::uint64_t planned_end);

/// Cuts `range` into consecutive pieces of about `piece_bytes` that begin at record starts
/// (options as for LineReader), in one pass: the returned ranges tile the records of `range`
/// and are opened with begin_is_record. Without csv_records the cuts need no pass (lines are
/// found from any offset) and the pieces are plain byte ranges. With csv_records the pass
/// looks only for a quote (memchr) up to the line holding the first one: before it every
/// line break ends a record, and cuts there are found from their offset; records are followed
/// one by one only from that line on.
Result<std::vector<sched::FileRange>> CutIntoPieces(const sched::FileRange& range,
                                                    std::uint64_t piece_bytes,
                                                    const ReadOptions& options);

}  // namespace ecps::worker
