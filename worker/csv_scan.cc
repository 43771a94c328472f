#include "worker/csv_scan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/input_file.h"
#include "util/mapped_input.h"
#include "worker/line_reader.h"

namespace ecps::worker {

Result<std::unique_ptr<CsvFields>> CsvFields::Open(const sched::FileRange& range, char delim) {
  ECPS_ASSIGN_OR_RETURN(std::string local, util::LocalInputPath(range.path));
  const int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) return NotFound(fmt::format("{}: {}", range.path, std::strerror(e)));
    return IoError(fmt::format("{}: {}", range.path, std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return IoError(fmt::format("{}: {}", range.path, std::strerror(e)));
  }
  std::unique_ptr<CsvFields> r(new CsvFields);
  r->path_ = range.path;
  r->delim_ = delim;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (range.end != UINT64_MAX && size < range.end) {
    ::close(fd);
    return FileShrank(range.path, size, range.end);
  }
  if (size > 0) {
    auto mapped = util::MappedInput::Map(fd, static_cast<std::size_t>(size), 0, range.path);
    ::close(fd);
    if (!mapped.ok()) return mapped.status();
    r->mapping_ = std::move(mapped).value();
  } else {
    ::close(fd);
  }
  std::uint64_t start = 0;
  if (range.begin > 0) {  // LineReader finds the first record at or after begin
    ReadOptions records;
    records.csv_records = true;
    records.delimiter = delim;
    ECPS_ASSIGN_OR_RETURN(auto lines, LineReader::Open(range, records));
    std::string_view first;
    ECPS_ASSIGN_OR_RETURN(bool any, lines->Next(&first));
    start = any ? lines->offset() : size;
  }
  r->next_ = r->map() + std::min(start, size);
  r->stop_ = r->map() + std::min(range.end, size);
  return r;
}

Result<const char*> CsvFields::Quoted(const char* p, std::size_t field,
                                      std::vector<std::string_view>* fields) {
  const char* const end = map() + mapping_.size();
  const char* q = p + 1;  // after the opening quote, or after the last "" copied
  std::string* unquoted = nullptr;
  while (true) {
    const auto* c =
        static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(end - q)));
    if (!c) {  // the record runs to the end of the file, as in a reader of CSV records
      const bool multi_line = std::memchr(p, '\n', static_cast<std::size_t>(end - p)) != nullptr;
      return DataError(fmt::format("field {}: unterminated quote ({})", field + 1,
                                   multi_line ? "the quoted field runs to the end of the file"
                                              : "a quoted field must close on its line: line "
                                                "breaks inside quotes are not supported"));
    }
    if (c + 1 < end && c[1] == '"') {  // "" is a quote
      if (!unquoted) unquoted = &scratch_.emplace_back();
      unquoted->append(q, static_cast<std::size_t>(c + 1 - q));
      q = c + 2;
      continue;
    }
    if (unquoted) {
      unquoted->append(q, static_cast<std::size_t>(c - q));
      fields->emplace_back(*unquoted);
    } else {
      fields->emplace_back(p + 1, static_cast<std::size_t>(c - p - 1));
    }
    return c + 1;
  }
}

Result<bool> CsvFields::Next(std::vector<std::string_view>* fields) {
  if (next_ >= stop_) return false;
  fields->clear();
  if (!scratch_.empty()) scratch_.clear();
  const char* const end = map() + mapping_.size();
  const char* p = next_;
  offset_ = static_cast<std::uint64_t>(p - map());
  // A record of spaces and tabs only (after dropping its "\r") is blank.
  const char* s = p;
  while (s < end && (*s == ' ' || *s == '\t')) ++s;
  if (s == end || *s == '\n' || (*s == '\r' && (s + 1 == end || s[1] == '\n'))) {
    blank_ = true;
    next_ = s == end ? end : s + (*s == '\r' ? 2 : 1);
    if (next_ > end) next_ = end;
    return true;
  }
  blank_ = false;
  const char delim = delim_;
  while (true) {
    if (p < end && *p == '"') {
      ECPS_ASSIGN_OR_RETURN(p, Quoted(p, fields->size(), fields));
      if (p < end && *p == delim) {
        ++p;
        continue;
      }
      if (p == end || *p == '\n') {
        next_ = p == end ? end : p + 1;
        return true;
      }
      if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
        next_ = p + 1 == end ? end : p + 2;
        return true;
      }
      return DataError(fmt::format("field {}: text after the closing quote", fields->size()));
    }
    const char* b = p;
    p = scan::FirstOf(p, end, delim, '\n');
    if (p < end && *p == delim) {
      fields->emplace_back(b, static_cast<std::size_t>(p - b));
      ++p;
      continue;
    }
    next_ = p == end ? end : p + 1;
    if (p > b && p[-1] == '\r') --p;  // the record's "\r\n" (or final "\r")
    fields->emplace_back(b, static_cast<std::size_t>(p - b));
    return true;
  }
}

std::string CsvFields::Where() const {
  const auto lines = std::count(map(), map() + offset_, '\n');
  return fmt::format("{}:{}", path_, lines + 1);
}

}  // namespace ecps::worker
