#include "worker/csv.h"
#include "worker/decimal.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cctype>
#include <cstring>

#include <fast_float/fast_float.h>
#include <fmt/format.h>

namespace ecps::worker {

namespace {

// Whether a number that parsed as 0 has a non-zero digit before its exponent (it underflowed).
bool Underflows(std::string_view s) {
  for (char c : s) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') return true;
  }
  return false;
}

// A one-character separator.
struct CharDelim {
  char c;
  std::size_t Find(std::string_view line, std::size_t from) const { return line.find(c, from); }
  bool At(std::string_view line, std::size_t i) const { return line[i] == c; }
  static constexpr std::size_t kWidth = 1;
};

// "::".
struct DoubleColonDelim {
  std::size_t Find(std::string_view line, std::size_t from) const { return line.find("::", from); }
  bool At(std::string_view line, std::size_t i) const { return line.substr(i, 2) == "::"; }
  static constexpr std::size_t kWidth = 2;
};

template <class Delim>
Status SplitWith(std::string_view line, Delim delim, std::vector<std::string_view>* fields,
                 std::deque<std::string>* scratch) {
  fields->clear();
  scratch->clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    if (i < n && line[i] == '"') {
      // Quoted field: runs to the next quote that is not doubled.
      std::size_t j = i + 1;
      bool doubled = false;
      while (true) {
        if (j >= n) {
          // A record with a line break comes from a reader of CSV records: it ran to the end.
          const bool multi_line = line.find('\n', i) != std::string_view::npos;
          // The quote may open on a later line of the record than its first.
          const auto below = std::count(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(i), '\n');
          return DataError(fmt::format(
              "field {}: unterminated quote{} ({})", fields->size() + 1,
              below == 0 ? std::string()
                         : fmt::format(" opened {} line{} below the record's first", below,
                                       below == 1 ? "" : "s"),
              multi_line ? "the quoted field runs to the end of the file"
                         : "a quoted field must close on its line: line breaks inside quotes are "
                           "not supported"));
        }
        if (line[j] == '"') {
          if (j + 1 < n && line[j + 1] == '"') {
            doubled = true;
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      std::string_view raw = line.substr(i + 1, j - i - 1);
      if (doubled) {
        std::string unq;
        for (std::size_t k = 0; k < raw.size(); ++k) {
          unq += raw[k];
          if (raw[k] == '"') ++k;
        }
        scratch->push_back(std::move(unq));
        fields->push_back(scratch->back());
      } else {
        fields->push_back(raw);
      }
      i = j + 1;
      if (i < n && !delim.At(line, i)) {
        return DataError(fmt::format("field {}: text after the closing quote", fields->size()));
      }
    } else {
      std::size_t j = delim.Find(line, i);
      if (j == std::string_view::npos) j = n;
      fields->push_back(line.substr(i, j - i));
      i = j;
    }
    if (i >= n) break;
    i += Delim::kWidth;  // skip the delimiter
    if (i >= n) {  // trailing delimiter: one more, empty field
      fields->push_back({});
      break;
    }
  }
  return Status::Ok();
}

}  // namespace

Status SplitCsv(std::string_view line, char delim, std::vector<std::string_view>* fields,
                std::deque<std::string>* scratch) {
  if (delim != kDoubleColon && !std::memchr(line.data(), '"', line.size())) {
    // No quote: every delimiter ends a field.
    fields->clear();
    if (!scratch->empty()) scratch->clear();
    const char* start = line.data();
    const char* end = start + line.size();
    for (const char* p = start; p < end; ++p) {
      if (*p == delim) {
        fields->emplace_back(start, static_cast<std::size_t>(p - start));
        start = p + 1;
      }
    }
    fields->emplace_back(start, static_cast<std::size_t>(end - start));
    return Status::Ok();
  }
  if (delim == kDoubleColon) return SplitWith(line, DoubleColonDelim{}, fields, scratch);
  return SplitWith(line, CharDelim{delim}, fields, scratch);
}

Result<char> ParseDelimiter(std::string_view s, std::string_view option) {
  if (s == "::") return kDoubleColon;
  if (s == "tab" || s == "\\t") return '\t';
  if (s.size() != 1 || s[0] == '"' || s[0] == '\n' || s[0] == '\r' || s[0] == '\0') {
    return InvalidArgument(fmt::format(
        "{} \"{}\": give one character (e.g. , ; | or tab) or :: (MovieLens); not a double quote "
        "or a line break",
        option, s));
  }
  return s[0];
}

std::string DelimiterName(char delim) {
  if (delim == kDoubleColon) return "::";
  if (delim == '\t') return "tab";
  if (delim == ' ') return "space";
  return std::string(1, delim);
}

Result<CsvHeader> CsvHeader::Parse(std::string_view line, char delim, const std::string& path) {
  std::vector<std::string_view> f;
  std::deque<std::string> scratch;
  if (!line.empty() && static_cast<unsigned char>(line[0]) == 0xEF && line.substr(0, 3) == "\xEF\xBB\xBF") {
    line.remove_prefix(3);  // UTF-8 byte-order mark
  }
  Status s = SplitCsv(line, delim, &f, &scratch);
  if (!s.ok()) return s.WithContext(path + ":1 (header)");
  CsvHeader h;
  h.path_ = path;
  for (auto v : f) {
    const std::string_view name = Trim(v);
    const auto same = std::find(h.names_.begin(), h.names_.end(), name);
    if (same != h.names_.end()) {
      return DataError(fmt::format(
          "{}:1: column \"{}\" appears twice in the header (columns {} and {})", path, name,
          same - h.names_.begin() + 1, h.names_.size() + 1));
    }
    h.names_.emplace_back(name);
  }
  return h;
}

Result<std::size_t> CsvHeader::Find(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  std::string list;
  for (const auto& n : names_) list += (list.empty() ? "" : ", ") + ("\"" + n + "\"");
  return NotFound(fmt::format("{}: no column \"{}\" in the header (columns: {})", path_, name, list));
}

std::optional<double> ParseDouble(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  if (SimpleDecimal(s, &v)) return v;
  // fast_float rounds as std::from_chars does; it returns 0 where from_chars reports an
  // underflow (1e-400), which is refused here as before.
  auto [p, ec] = fast_float::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  if (v == 0 && Underflows(s)) return std::nullopt;
  return v;
}

std::string DataLimitMessage(std::string_view token) {
  constexpr std::size_t kMax = 60;  // keep messages readable for absurd tokens
  const std::string_view shown = Trim(token).substr(0, kMax);
  return fmt::format("\"{}{}\" is beyond the limit on data values (|x| <= {:g})", shown,
                     Trim(token).size() > kMax ? "..." : "", kMaxDataMagnitude);
}

std::optional<int> ParseBinaryLabel(std::string_view s) {
  s = Trim(s);
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "1" || l == "+1" || l == "true" || l == "yes" || l == "1.0") return 1;
  if (l == "0" || l == "-1" || l == "false" || l == "no" || l == "0.0" || l == "-1.0") return 0;
  return std::nullopt;
}

}  // namespace ecps::worker
