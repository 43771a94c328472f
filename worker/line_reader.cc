#include "worker/line_reader.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/input_file.h"

namespace ecps::worker {
namespace {
constexpr std::size_t kBufferBytes = 1 << 20;

std::string_view StripCr(std::string_view s) {
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}
}  // namespace

LineReader::LineReader(std::string path, std::string local, std::FILE* f, std::uint64_t begin,
                       std::uint64_t end)
    : path_(std::move(path)), local_(std::move(local)), file_(f), end_(end), pos_(begin),
      buf_(kBufferBytes) {}

LineReader::~LineReader() {
  if (file_) std::fclose(file_);
}

Result<std::unique_ptr<LineReader>> LineReader::Open(const sched::FileRange& range) {
  ECPS_ASSIGN_OR_RETURN(std::string local, util::LocalInputPath(range.path));
  std::FILE* f = std::fopen(local.c_str(), "rb");
  if (!f) {
    int e = errno;
    std::string why = std::strerror(e);
    if (e == ENOENT) return NotFound(fmt::format("{}: {}", range.path, why));
    return IoError(fmt::format("{}: {}", range.path, why));
  }
  std::uint64_t start = range.begin;
  if (start > 0) {
    // The line straddling `begin` belongs to the previous range: start after the first
    // newline at or after begin-1.
    if (std::fseek(f, static_cast<long>(start - 1), SEEK_SET) != 0) {
      std::fclose(f);
      return IoError(fmt::format("{}: seek to {}: {}", range.path, start - 1, std::strerror(errno)));
    }
    start -= 1;
    int c;
    while ((c = std::fgetc(f)) != EOF) {
      ++start;
      if (c == '\n') break;
    }
    if (c == EOF) start = range.end;  // no line starts in this range
  }
  auto r = std::unique_ptr<LineReader>(new LineReader(range.path, std::move(local), f, start, range.end));
  if (std::fseek(f, static_cast<long>(start), SEEK_SET) != 0) {
    return IoError(fmt::format("{}: seek to {}: {}", range.path, start, std::strerror(errno)));
  }
  return r;
}

Result<std::unique_ptr<LineReader>> LineReader::OpenFile(const std::string& path) {
  return Open(sched::FileRange{path, 0, UINT64_MAX});
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (head_ == tail_) {
    pos_ += tail_;
    head_ = tail_ = 0;
  }
  std::size_t n = std::fread(buf_.data() + tail_, 1, buf_.size() - tail_, file_);
  if (n == 0) {
    eof_ = true;
    return false;
  }
  tail_ += n;
  return true;
}

Result<bool> LineReader::Next(std::string_view* line) {
  carry_.clear();
  std::uint64_t start = pos_ + head_;
  if (start >= end_) return false;
  while (true) {
    if (head_ == tail_ && !Fill()) {
      if (std::ferror(file_)) return IoError(fmt::format("{}: read failed: {}", path_, std::strerror(errno)));
      if (carry_.empty()) return false;
      line_offset_ = start;
      *line = StripCr(carry_);  // last line without a trailing newline
      return true;
    }
    const char* b = buf_.data() + head_;
    const void* nl = std::memchr(b, '\n', tail_ - head_);
    if (nl) {
      auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - b);
      line_offset_ = start;
      if (carry_.empty()) {
        *line = StripCr(std::string_view(b, len));
      } else {
        carry_.append(b, len);
        *line = StripCr(carry_);
      }
      head_ += len + 1;
      return true;
    }
    // No newline in the buffer: keep the partial line and refill from scratch.
    carry_.append(b, tail_ - head_);
    pos_ += tail_;
    head_ = tail_ = 0;
  }
}

std::uint64_t LineReader::LineNumber() {
  if (line_offset_ < counted_to_) {  // went backwards (never in normal use): recount
    counted_to_ = 0;
    counted_lines_ = 0;
  }
  std::FILE* f = std::fopen(local_.c_str(), "rb");
  if (!f) return 0;
  std::fseek(f, static_cast<long>(counted_to_), SEEK_SET);
  std::vector<char> b(kBufferBytes);
  std::uint64_t at = counted_to_;
  while (at < line_offset_) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(b.size(), line_offset_ - at));
    std::size_t n = std::fread(b.data(), 1, want, f);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) counted_lines_ += b[i] == '\n';
    at += n;
  }
  std::fclose(f);
  counted_to_ = at;
  return counted_lines_ + 1;
}

std::string LineReader::Where() { return fmt::format("{}:{}", path_, LineNumber()); }

Result<std::string> ReadFirstLine(const std::string& path) {
  ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::OpenFile(path));
  std::string_view line;
  ECPS_ASSIGN_OR_RETURN(bool got, reader->Next(&line));
  if (!got) return DataError(fmt::format("{}: the file is empty", path));
  return std::string(line);
}

}  // namespace ecps::worker
