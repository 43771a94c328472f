#include "worker/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "util/input_file.h"
#include "util/mapped_input.h"
#include "worker/csv.h"

namespace ecps::worker {
namespace {
constexpr std::size_t kBufferBytes = 1 << 20;
constexpr std::size_t kScanBytes = 64 << 10;  // reads that look for a line break or a quote

std::string_view StripCr(const char* b, std::size_t len) {
  return std::string_view(b, len - (len > 0 && b[len - 1] == '\r'));
}

// The '\n' that ends the CSV record starting at `p`, or nullptr when [p, end) ends first
// (also when its last byte is a quote, which may be the first of a doubled one).
const char* RecordEnd(const char* p, const char* end, char delim) {
  bool field_start = true;
  while (p < end) {
    const char c = *p;
    if (c == '\n') return p;
    if (c == '"' && field_start) {
      ++p;
      while (true) {  // to the closing quote ("" is a quote)
        const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
        if (!q || q + 1 == end) return nullptr;
        p = q + 1 + (q[1] == '"');
        if (q[1] != '"') break;
      }
      field_start = false;
      continue;
    }
    if (delim == kDoubleColon ? (c == ':' && p + 1 < end && p[1] == ':') : c == delim) {
      p += delim == kDoubleColon ? 2 : 1;
      field_start = true;
      continue;
    }
    field_start = false;
    ++p;
  }
  return nullptr;
}

Result<std::size_t> ReadSome(int fd, char* into, std::size_t n, const std::string& path) {
  while (true) {
    const ssize_t got = ::read(fd, into, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) return IoError(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
  }
}

Result<std::size_t> PreadSome(int fd, char* into, std::size_t n, std::uint64_t at, const std::string& path) {
  while (true) {
    const ssize_t got = ::pread(fd, into, n, static_cast<off_t>(at));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) return IoError(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
  }
}

// Where the first line that starts at or after `begin` starts (every line break ends a
// record), or UINT64_MAX when none does; *quote_line gets the start of the line holding the
// first quote when a quote comes before that line break (and `stop_at_quote`).
Result<std::uint64_t> FirstLineAtOrAfter(int fd, std::uint64_t begin, bool stop_at_quote,
                                         const std::string& path, std::uint64_t* quote_line) {
  std::vector<char> buf(kScanBytes);
  std::uint64_t line_start = 0;
  const std::uint64_t from = stop_at_quote ? 0 : begin - 1;
  for (std::uint64_t off = from;;) {
    ECPS_ASSIGN_OR_RETURN(std::size_t n, PreadSome(fd, buf.data(), buf.size(), off, path));
    if (n == 0) return UINT64_MAX;
    const char* b = buf.data();
    const auto* q = stop_at_quote ? static_cast<const char*>(std::memchr(b, '"', n)) : nullptr;
    const std::size_t limit = q ? static_cast<std::size_t>(q - b) : n;
    // A line break at or after begin - 1, before any quote, ends the record straddling begin.
    const std::size_t skip = off + 1 >= begin ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(begin - 1 - off, limit));
    if (const auto* nl = static_cast<const char*>(std::memchr(b + skip, '\n', limit - skip))) {
      return off + static_cast<std::uint64_t>(nl - b) + 1;
    }
    for (std::size_t i = limit; i > 0; --i) {  // the last line break before the quote
      if (b[i - 1] == '\n') {
        line_start = off + i;
        break;
      }
    }
    if (q) {
      *quote_line = line_start;
      return std::uint64_t{0};
    }
    off += n;
  }
}

// The start of the line holding the first quote in [from, to), `from` being a line start, or
// `to` when there is none: before it every line break ends a CSV record. The file is mapped
// (no copy: the pass reads the page cache once), else read.
Result<std::uint64_t> QuoteFreeUntil(int fd, std::uint64_t from, std::uint64_t to, const std::string& path) {
  struct stat st {};
  if (from < to && ::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= to) {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t base = from / page * page;
    const auto len = static_cast<std::size_t>(to - base);
    if (auto m = util::MappedInput::Map(fd, len, base, path); m.ok()) {
      const char* b = m->data() + (from - base);
      const auto n = static_cast<std::size_t>(to - from);
      const auto* q = static_cast<const char*>(std::memchr(b, '"', n));
      std::uint64_t at = to;
      if (q) {
        const auto* nl = static_cast<const char*>(memrchr(b, '\n', static_cast<std::size_t>(q - b)));
        at = nl ? from + static_cast<std::uint64_t>(nl - b) + 1 : from;
      }
      return at;
    }
  }
  std::vector<char> buf(kBufferBytes);
  std::uint64_t line_start = from;
  for (std::uint64_t off = from; off < to;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - off));
    ECPS_ASSIGN_OR_RETURN(std::size_t n, PreadSome(fd, buf.data(), want, off, path));
    if (n == 0) break;
    const char* b = buf.data();
    const auto* q = static_cast<const char*>(std::memchr(b, '"', n));
    const std::size_t limit = q ? static_cast<std::size_t>(q - b) : n;
    if (const auto* nl = static_cast<const char*>(memrchr(b, '\n', limit))) {  // the last before the quote
      line_start = off + static_cast<std::uint64_t>(nl - b) + 1;
    }
    if (q) return line_start;
    off += n;
  }
  return to;
}

// The first line start at or after `at` (> 0), or `limit` when none comes before it.
Result<std::uint64_t> LineStartAtOrAfter(int fd, std::uint64_t at, std::uint64_t limit, const std::string& path) {
  std::vector<char> buf(kScanBytes);
  for (std::uint64_t off = at - 1; off < limit;) {
    ECPS_ASSIGN_OR_RETURN(std::size_t n, PreadSome(fd, buf.data(), buf.size(), off, path));
    if (n == 0) break;
    if (const auto* nl = static_cast<const char*>(std::memchr(buf.data(), '\n', n))) {
      return std::min(limit, off + static_cast<std::uint64_t>(nl - buf.data()) + 1);
    }
    off += n;
  }
  return limit;
}

Status Shrank(int fd, const std::string& path, std::uint64_t planned_end) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) st.st_size = 0;
  return FileShrank(path, static_cast<std::uint64_t>(st.st_size), planned_end);
}

}  // namespace

Status FileShrank(const std::string& path, std::uint64_t size_now, std::uint64_t planned_end) {
  return IoError(fmt::format(
      "{}: the file is now {} bytes, and this part of it was planned to end at byte {}: the file "
      "shrank while ecps was reading it (was it rewritten or truncated during the run?)",
      path, size_now, planned_end));
}

LineReader::LineReader(std::string path, std::string local, int fd, std::uint64_t begin,
                       std::uint64_t end, const ReadOptions& options)
    : path_(std::move(path)), local_(std::move(local)), fd_(fd), end_(end), pos_(begin),
      options_(options), buf_(kBufferBytes) {}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<LineReader>> LineReader::Open(const sched::FileRange& range,
                                                     const ReadOptions& options) {
  ECPS_ASSIGN_OR_RETURN(std::string local, util::LocalInputPath(range.path));
  const int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    std::string why = std::strerror(e);
    if (e == ENOENT) return NotFound(fmt::format("{}: {}", range.path, why));
    return IoError(fmt::format("{}: {}", range.path, why));
  }
  auto r = std::unique_ptr<LineReader>(new LineReader(range.path, std::move(local), fd, 0, range.end, options));
  if (struct stat st {}; range.end != UINT64_MAX && ::fstat(fd, &st) == 0 &&
                         static_cast<std::uint64_t>(st.st_size) < range.end) {
    return Shrank(fd, range.path, range.end);
  }
  std::uint64_t start = range.begin;
  if (start > 0 && !options.begin_is_record) {
    // The record straddling `begin` belongs to the previous range.
    std::uint64_t quote_line = UINT64_MAX;
    ECPS_ASSIGN_OR_RETURN(start, FirstLineAtOrAfter(fd, start, options.csv_records, range.path, &quote_line));
    if (quote_line != UINT64_MAX) {
      // A quote came first: follow the records from the line that holds it.
      ReadOptions from_there = options;
      from_there.begin_is_record = true;
      ECPS_ASSIGN_OR_RETURN(auto scan, Open({range.path, quote_line, UINT64_MAX}, from_there));
      std::string_view record;
      start = UINT64_MAX;
      while (true) {
        ECPS_ASSIGN_OR_RETURN(bool more, scan->Next(&record));
        if (!more) break;
        if (scan->offset() >= range.begin) {
          start = scan->offset();
          break;
        }
      }
    }
    if (start == UINT64_MAX) start = range.end;  // no record starts in this range
  }
  r->pos_ = start;
  if (::lseek(fd, static_cast<off_t>(start), SEEK_SET) < 0) {
    return IoError(fmt::format("{}: seek to {}: {}", range.path, start, std::strerror(errno)));
  }
  return r;
}

Result<std::unique_ptr<LineReader>> LineReader::OpenFile(const std::string& path, const ReadOptions& options) {
  return Open(sched::FileRange{path, 0, UINT64_MAX}, options);
}

Result<bool> LineReader::Fill() {
  if (eof_) return false;
  if (head_ > 0) {
    std::memmove(buf_.data(), buf_.data() + head_, tail_ - head_);
    quote_free_ = quote_free_ > head_ ? quote_free_ - head_ : 0;
    pos_ += head_;
    tail_ -= head_;
    head_ = 0;
  }
  if (tail_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a record longer than the buffer
  ECPS_ASSIGN_OR_RETURN(std::size_t n, ReadSome(fd_, buf_.data() + tail_, buf_.size() - tail_, path_));
  if (n == 0) {
    eof_ = true;
    // The range was planned from the file's size: a file that ends before the range does was
    // cut while the run read it, and reading on would silently drop its last rows.
    if (end_ != UINT64_MAX && pos_ + tail_ < end_) return Shrank(fd_, path_, end_);
    return false;
  }
  tail_ += n;
  return true;
}

Result<bool> LineReader::NextSlow(std::string_view* line) {
  while (true) {
    if (pos_ + head_ >= end_) return false;
    const char* b = buf_.data() + head_;
    const std::size_t avail = tail_ - head_;
    const char* stop = nullptr;
    if (avail > 0) {
      stop = static_cast<const char*>(std::memchr(b, '\n', avail));
      if (options_.csv_records) {
        // Extend the quote-free stretch from head_ to the next quote (or the buffer's end).
        quote_free_ = std::max(quote_free_, head_);
        if (quote_free_ < tail_ && buf_[quote_free_] != '"') {
          const auto* q = static_cast<const char*>(std::memchr(buf_.data() + quote_free_, '"', tail_ - quote_free_));
          quote_free_ = q ? static_cast<std::size_t>(q - buf_.data()) : tail_;
        }
        if (!stop || stop >= buf_.data() + quote_free_) stop = RecordEnd(b, b + avail, options_.delimiter);
      }
    }
    if (stop) {
      line_offset_ = pos_ + head_;
      const auto len = static_cast<std::size_t>(stop - b);
      head_ += len + 1;
      *line = StripCr(b, len);
      return true;
    }
    ECPS_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) {
      if (head_ == tail_) return false;
      line_offset_ = pos_ + head_;  // the last line, without a final newline
      *line = StripCr(buf_.data() + head_, tail_ - head_);
      head_ = tail_;
      return true;
    }
  }
}

std::uint64_t LineReader::LineNumber() {
  if (line_offset_ < counted_to_) {  // went backwards (never in normal use): recount
    counted_to_ = 0;
    counted_lines_ = 0;
  }
  std::vector<char> b(kScanBytes);
  while (counted_to_ < line_offset_) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(b.size(), line_offset_ - counted_to_));
    auto n = PreadSome(fd_, b.data(), want, counted_to_, path_);
    if (!n.ok() || *n == 0) break;
    counted_lines_ += static_cast<std::uint64_t>(std::count(b.data(), b.data() + *n, '\n'));
    counted_to_ += *n;
  }
  return counted_lines_ + 1;
}

std::string LineReader::Where() { return fmt::format("{}:{}", path_, LineNumber()); }

Result<std::string> ReadFirstRecord(const std::string& path, const ReadOptions& options) {
  ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::OpenFile(path, options));
  std::string_view line;
  ECPS_ASSIGN_OR_RETURN(bool got, reader->Next(&line));
  if (!got) return DataError(fmt::format("{}: the file is empty", path));
  return std::string(line);
}

Result<std::string> ReadFirstLine(const std::string& path) { return ReadFirstRecord(path, {}); }

Result<std::vector<sched::FileRange>> CutIntoPieces(const sched::FileRange& range, std::uint64_t piece_bytes,
                                                    const ReadOptions& options) {
  const std::uint64_t step = std::max<std::uint64_t>(piece_bytes, 1);
  std::uint64_t end = range.end;
  if (end == UINT64_MAX) {  // "the whole file"
    ECPS_ASSIGN_OR_RETURN(std::string local, util::LocalInputPath(range.path));
    std::error_code ec;
    end = std::filesystem::file_size(local, ec);
    if (ec) return IoError(fmt::format("{}: {}", range.path, ec.message()));
  }
  std::vector<sched::FileRange> pieces;
  if (!options.csv_records) {
    for (std::uint64_t b = range.begin; b < end; b += step) pieces.push_back({range.path, b, std::min(end, b + step)});
    return pieces;
  }
  ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::Open(range, options));
  // Up to the line of the first quote, cuts are the line starts that follow byte offsets.
  const std::uint64_t first = reader->pos_;
  ECPS_ASSIGN_OR_RETURN(const std::uint64_t quote_line, QuoteFreeUntil(reader->fd_, first, end, range.path));
  std::uint64_t b = first;
  while (b < quote_line) {
    std::uint64_t cut = quote_line;
    if (quote_line - b > step) {
      ECPS_ASSIGN_OR_RETURN(cut, LineStartAtOrAfter(reader->fd_, b + step, quote_line, range.path));
    }
    if (cut == quote_line && quote_line < end) break;  // the record scan below starts at b
    pieces.push_back({range.path, b, cut});
    b = cut;
  }
  if (quote_line >= end) return pieces;
  ReadOptions from_b = options;
  from_b.begin_is_record = true;
  ECPS_ASSIGN_OR_RETURN(reader, LineReader::Open({range.path, b, end}, from_b));
  std::string_view record;
  std::uint64_t next_cut = 0;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    if (reader->offset() < next_cut) continue;
    if (!pieces.empty()) pieces.back().end = reader->offset();
    pieces.push_back({range.path, reader->offset(), end});
    next_cut = reader->offset() + step;
  }
  return pieces;
}

}  // namespace ecps::worker
