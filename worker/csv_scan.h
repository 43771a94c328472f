// Scanning for the CSV readers (feature CSV, item attributes).
//
// Primitives for a record without quotes, read in one pass with no allocation: a reader tries
// its fast path on a record and falls back to SplitCsv (csv.h) and its own checks whenever a
// primitive reports something it does not handle, so values and error messages stay those of
// the general path.
//
// CsvFields: the records of a byte range split into fields in one pass over a memory map of
// the file, quotes included. It gives the records, fields and errors that LineReader's CSV
// records (line_reader.h) followed by SplitCsv give, without the second pass over each record.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ps/status.h"
#include "scheduler/shard_plan.h"
#include "util/mapped_input.h"

namespace ecps::worker::scan {

/// The first byte of [p, e) equal to `a` or `b`, or e. Eight bytes at a time (fields are
/// short: a call of memchr costs more); reads only inside [p, e).
inline const char* FirstOf(const char* p, const char* e, char a, char b) {
  static_assert(std::endian::native == std::endian::little, "the first byte is the lowest");
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const std::uint64_t wa = kOnes * static_cast<unsigned char>(a),
                      wb = kOnes * static_cast<unsigned char>(b);
  while (e - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t x = w ^ wa, y = w ^ wb;
    // The lowest set high bit marks the first zero byte of x or y (higher ones may be false).
    const std::uint64_t m = ((x - kOnes) & ~x & kHigh) | ((y - kOnes) & ~y & kHigh);
    if (m) return p + (__builtin_ctzll(m) >> 3);
    p += 8;
  }
  while (p < e && *p != a && *p != b) ++p;
  return p;
}

/// The first `delim` in [p, e), or e.
inline const char* FieldEnd(const char* p, const char* e, char delim) {
  return FirstOf(p, e, delim, delim);
}

/// Parses the longest prefix of [p, e) of the form [-]digits[.digits] with 1 to 15 digits and
/// returns the end of that prefix, or nullptr when there is no such prefix or it has more than
/// 15 digits. The value is m / 10^f with m and 10^f exact doubles: one division gives the
/// correctly rounded value, the one SimpleDecimal (decimal.h) and from_chars give.
inline const char* ScanDecimal(const char* p, const char* e, double* out) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const bool neg = p < e && *p == '-';
  p += neg;
  const char* digits_begin = p;
  std::uint64_t m = 0;
  for (; p < e && static_cast<unsigned>(*p - '0') < 10; ++p)
    m = m * 10 + static_cast<unsigned>(*p - '0');
  auto digits = p - digits_begin;
  long frac = 0;
  if (p < e && *p == '.') {
    const char* f = ++p;
    for (; p < e && static_cast<unsigned>(*p - '0') < 10; ++p)
      m = m * 10 + static_cast<unsigned>(*p - '0');
    frac = p - f;
    digits += frac;
  }
  if (digits == 0 || digits > 15) return nullptr;
  const double v = static_cast<double>(m) / kPow10[frac];
  *out = neg ? -v : v;
  return p;
}

/// Trims spaces and tabs from both ends of [*b, *e) (as Trim in csv.h), on pointers.
inline void TrimSpan(const char** b, const char** e) {
  while (*b < *e && (**b == ' ' || **b == '\t')) ++*b;
  while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) --*e;
}

/// Whether [p, e) holds a double quote.
inline bool HasQuote(const char* p, const char* e) {
  return std::memchr(p, '"', static_cast<std::size_t>(e - p)) != nullptr;
}

}  // namespace ecps::worker::scan

namespace ecps::worker {

/// The CSV records of one byte range split into fields. The range's records are those that
/// LineReader::Open(range, {csv_records, delim}) returns (the first at or after range.begin,
/// every one starting before range.end); a record ends at a line break outside quotes (a
/// "\r" before it is dropped); fields are those of SplitCsv, with its errors.
/// Not thread-safe; one per range.
class CsvFields {
 public:
  /// kNotFound / kIoError name the path. `delim` is one character (not kDoubleColon).
  static Result<std::unique_ptr<CsvFields>> Open(const sched::FileRange& range, char delim);
  CsvFields(const CsvFields&) = delete;
  CsvFields& operator=(const CsvFields&) = delete;

  /// Splits the next record into *fields (views into the file or into a scratch buffer,
  /// valid until the next call); false at the end of the range. A malformed record gives
  /// SplitCsv's kDataError ("field 2: unterminated quote (...)"); the caller adds Where().
  Result<bool> Next(std::vector<std::string_view>* fields);
  /// Byte offset of the last record.
  std::uint64_t offset() const { return offset_; }
  /// Whether the last record is empty or only spaces and tabs (no fields to read).
  bool blank() const { return blank_; }
  /// "path:line" of the last record, for messages (counts line breaks: meant for errors).
  std::string Where() const;

 private:
  CsvFields() = default;
  // The quoted field starting at p (a quote); its end after the closing quote, or an error.
  Result<const char*> Quoted(const char* p, std::size_t field,
                             std::vector<std::string_view>* fields);

  const char* map() const { return mapping_.data(); }

  std::string path_;
  char delim_ = ',';
  util::MappedInput mapping_;  // the whole file (none when it is empty)
  const char* next_ = nullptr;  // start of the next record
  const char* stop_ = nullptr;  // records must start before this
  std::uint64_t offset_ = 0;
  bool blank_ = false;
  std::deque<std::string> scratch_;
};

}  // namespace ecps::worker
