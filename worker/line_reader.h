// LineReader: streams the lines of one byte range of a file (see sched::FileRange for the
// rule that gives every line to exactly one range). Memory is one buffer, whatever the file
// size. Line numbers for error messages are computed only when asked for. Gzip files, pipes and
// standard input ("-") are read through their decompressed copy (util/input_file.h); messages
// name the path as given.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ps/status.h"
#include "scheduler/shard_plan.h"

namespace ecps::worker {

class LineReader {
 public:
  /// Opens `range` of its file. kNotFound/kIoError name the path.
  static Result<std::unique_ptr<LineReader>> Open(const sched::FileRange& range);
  /// The whole file.
  static Result<std::unique_ptr<LineReader>> OpenFile(const std::string& path);
  ~LineReader();

  /// Reads the next line into *line (without "\n" or "\r\n"); false at the end of the range.
  /// The view stays valid until the next call. kIoError on a failed read.
  Result<bool> Next(std::string_view* line);

  /// Byte offset of the last line returned.
  std::uint64_t offset() const { return line_offset_; }
  /// 1-based line number of the last line returned (counts newlines before it on first use
  /// and then incrementally; meant for error messages and skipped-row reports).
  std::uint64_t LineNumber();
  const std::string& path() const { return path_; }
  /// "path:line" for messages.
  std::string Where();

 private:
  LineReader(std::string path, std::string local, std::FILE* f, std::uint64_t begin,
             std::uint64_t end);
  bool Fill();

  std::string path_;   // as given (for messages)
  std::string local_;  // the plain file read (util::LocalInputPath)
  std::FILE* file_;
  std::uint64_t end_;              // lines must start before this offset
  std::uint64_t pos_;              // file offset of buf_[0]
  std::vector<char> buf_;
  std::size_t head_ = 0, tail_ = 0;  // unread bytes are buf_[head_, tail_)
  bool eof_ = false;
  std::string carry_;              // a line that spans buffer refills
  std::uint64_t line_offset_ = 0;
  // Incremental line counting: newlines in [0, counted_to_) = counted_lines_.
  std::uint64_t counted_to_ = 0;
  std::uint64_t counted_lines_ = 0;
};

/// Reads the first line of `path` (e.g. a CSV header), without its line ending.
Result<std::string> ReadFirstLine(const std::string& path);

}  // namespace ecps::worker
