#include "worker/example_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/hash.h"
#include "worker/csv.h"
#include "worker/line_reader.h"

namespace ecps::worker {
namespace {

constexpr std::uint64_t kIndexSeed = 0x9e3779b97f4a7c15ULL;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Next token of `s` starting at *pos (spaces/tabs separate tokens); empty at the end.
std::string_view NextToken(std::string_view s, std::size_t* pos) {
  std::size_t i = *pos;
  while (i < s.size() && IsSpace(s[i])) ++i;
  std::size_t j = i;
  while (j < s.size() && !IsSpace(s[j])) ++j;
  *pos = j;
  return s.substr(i, j - i);
}

enum class UintParse { kOk, kNotInteger, kOutOfRange };

UintParse ParseUint(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return UintParse::kNotInteger;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) return UintParse::kOutOfRange;
  if (ec != std::errc() || p != s.data() + s.size()) return UintParse::kNotInteger;
  return UintParse::kOk;
}

// Parses a feature value; "1" (the common case in one-hot data) without from_chars. The
// general parser reads into a double, so that a value beyond the float range is reported as
// too large rather than as malformed.
template <class T>
bool ParseValue(std::string_view s, T* out) {
  if (s.size() == 1 && s[0] >= '0' && s[0] <= '9') {
    *out = static_cast<T>(s[0] - '0');
    return true;
  }
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Reads up to 18 digits and the ':' after them into *out: the position after the ':', or
// nullptr when [p, end) does not start that way.
inline const char* IndexColon(const char* p, const char* end, std::uint64_t* out) {
  const char* start = p;
  std::uint64_t v = 0;
  while (p < end && static_cast<unsigned>(*p - '0') < 10) v = v * 10 + static_cast<unsigned>(*p++ - '0');
  if (p == start || p - start > 18 || p == end || *p != ':') return nullptr;
  *out = v;
  return p + 1;
}

std::string Quoted(std::string_view s) {
  constexpr std::size_t kMax = 60;  // keep messages readable for absurd tokens
  if (s.size() > kMax) return fmt::format("\"{}...\"", s.substr(0, kMax));
  return fmt::format("\"{}\"", s);
}

std::uint32_t Bucket(std::uint64_t hash, std::uint64_t buckets) {
  return static_cast<std::uint32_t>(util::HashToBucket(hash, buckets));
}

}  // namespace

std::string_view DataFormatName(DataFormat f) {
  switch (f) {
    case DataFormat::kLibsvm: return "libsvm";
    case DataFormat::kLibffm: return "libffm";
    case DataFormat::kCsv: return "csv";
  }
  return "?";
}

Result<DataFormat> ParseDataFormat(std::string_view name) {
  if (name == "libsvm") return DataFormat::kLibsvm;
  if (name == "libffm") return DataFormat::kLibffm;
  if (name == "csv") return DataFormat::kCsv;
  return InvalidArgument(fmt::format("unknown data format \"{}\" (libsvm, libffm or csv)", name));
}

Status ParserOptions::Validate() const {
  if (hash_bits < 1 || hash_bits > 30) {
    return InvalidArgument(fmt::format("--hash-bits {} is outside 1..30", hash_bits));
  }
  if (num_features >= (std::uint64_t{1} << 31)) {
    return InvalidArgument(fmt::format("--num-features {} is too large (at most 2^31 - 1)", num_features));
  }
  if (format == DataFormat::kCsv) {
    if (label_column.empty() && !label_optional) {
      return InvalidArgument("csv input needs --label-column (the column holding the label)");
    }
    std::set<std::string> seen;
    for (const auto* list : {&numeric_columns, &categorical_columns}) {
      for (const auto& c : *list) {
        if (c == label_column) {
          return InvalidArgument(fmt::format("column \"{}\" is the label; it cannot also be a feature", c));
        }
        if (!seen.insert(c).second) {
          return InvalidArgument(fmt::format("column \"{}\" is listed twice among the feature columns", c));
        }
      }
    }
  }
  return Status::Ok();
}

namespace {

// "1, 2, 3, 4" when the values are 3 to 10 distinct integers, else "".
std::string FewIntegers(const std::unordered_set<std::string>& values) {
  if (values.size() < 3 || values.size() > 10) return std::string();
  std::vector<double> v;
  for (const auto& s : values) {
    const auto d = ParseDouble(s);
    if (!d || std::floor(*d) != *d) return std::string();
    v.push_back(*d);
  }
  std::sort(v.begin(), v.end());
  return fmt::format("{}", fmt::join(v, ", "));
}

}  // namespace

Result<CsvColumns> ResolveCsvColumns(const ParserOptions& o, const std::string& path, int sniff_rows) {
  ECPS_RETURN_IF_ERROR(o.Validate());
  ECPS_ASSIGN_OR_RETURN(std::string head, ReadFirstRecord(path, CsvRecords(o.delimiter)));
  ECPS_ASSIGN_OR_RETURN(CsvHeader header, CsvHeader::Parse(head, o.delimiter, path));
  CsvColumns c;
  c.label = o.label_column;
  if (!c.label.empty()) {
    auto found = header.Find(c.label);
    if (!found.ok() && !o.label_optional) return found.status().WithContext("--label-column");
  }
  for (const auto& name : o.ignore_columns) {
    ECPS_RETURN_IF_ERROR_CTX(header.Find(name).status(), "--ignore-columns");
  }
  const auto declared = [&](const std::string& name) {
    return std::find(o.declared_categorical.begin(), o.declared_categorical.end(), name) !=
           o.declared_categorical.end();
  };
  for (const auto& name : o.declared_categorical) {
    ECPS_RETURN_IF_ERROR_CTX(header.Find(name).status(), "--categorical");
    if (std::find(o.numeric_columns.begin(), o.numeric_columns.end(), name) != o.numeric_columns.end()) {
      return InvalidArgument(fmt::format("--categorical {}: also in --numeric-columns", name));
    }
  }
  if (!o.numeric_columns.empty() || !o.categorical_columns.empty()) {
    for (const auto& name : o.numeric_columns) {
      ECPS_RETURN_IF_ERROR_CTX(header.Find(name).status(), "--numeric-columns");
      c.notes.push_back(name + ": numeric (--numeric-columns)");
    }
    for (const auto& name : o.categorical_columns) {
      ECPS_RETURN_IF_ERROR_CTX(header.Find(name).status(), "--categorical-columns");
      c.notes.push_back(name + ": categorical (--categorical-columns)");
    }
    c.numeric = o.numeric_columns;
    c.categorical = o.categorical_columns;
    for (const auto& name : o.declared_categorical) {
      if (std::find(c.categorical.begin(), c.categorical.end(), name) != c.categorical.end()) continue;
      c.categorical.push_back(name);
      c.notes.push_back(name + ": categorical (--categorical)");
    }
    return c;
  }
  // Infer: every other column, numeric when all sniffed values are numbers.
  const auto& names = header.names();
  std::vector<bool> used(names.size(), false), numeric(names.size(), true), any(names.size(), false);
  std::vector<std::unordered_set<std::string>> distinct(names.size());
  std::vector<std::size_t> filled(names.size(), 0);
  for (std::size_t i = 0; i < names.size(); ++i) {
    used[i] = names[i] != c.label &&
              std::find(o.ignore_columns.begin(), o.ignore_columns.end(), names[i]) == o.ignore_columns.end();
  }
  ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::OpenFile(path, CsvRecords(o.delimiter)));
  std::string_view line;
  ParseScratch s;
  ECPS_ASSIGN_OR_RETURN(bool got, reader->Next(&line));  // header
  for (int r = 0; got && r < sniff_rows; ++r) {
    ECPS_ASSIGN_OR_RETURN(got, reader->Next(&line));
    if (!got) break;
    if (!SplitCsv(line, o.delimiter, &s.fields, &s.unquoted).ok() || s.fields.size() != names.size()) {
      continue;  // reported with its line number when the rows are read
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (Trim(s.fields[i]).empty()) continue;
      any[i] = true;
      if (numeric[i] && !ParseDouble(s.fields[i])) numeric[i] = false;
      ++filled[i];
      distinct[i].emplace(Trim(s.fields[i]));
    }
  }
  constexpr std::size_t kMinRowsForIdentifier = 100;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!used[i]) continue;
    const std::string& n = names[i];
    if (declared(n)) {
      c.categorical.push_back(n);
      c.notes.push_back(n + ": categorical (--categorical)");
    } else if (numeric[i] && any[i]) {
      c.numeric.push_back(n);
      c.notes.push_back(fmt::format("{}: numeric, inferred (its first {} values are numbers)", n, filled[i]));
      if (auto few = FewIntegers(distinct[i]); filled[i] >= kMinRowsForIdentifier && !few.empty()) {
        c.warnings.push_back(fmt::format(
            "column \"{}\" is used as a number, but its first {} values are only {} distinct integers "
            "({}): if they are codes (a browser, a region), declare it with --categorical {}",
            n, filled[i], distinct[i].size(), few, n));
      }
    } else if (filled[i] >= kMinRowsForIdentifier && distinct[i].size() == filled[i]) {
      c.identifiers.push_back(n);
      c.notes.push_back(fmt::format("{}: not used, inferred as an identifier (its first {} values are all distinct)",
                                    n, filled[i]));
    } else {
      c.categorical.push_back(n);
      c.notes.push_back(fmt::format("{}: categorical, inferred ({})", n,
                                    any[i] ? "it has values that are not numbers" : "empty in the first rows"));
    }
  }
  if (c.numeric.empty() && c.categorical.empty()) {
    return InvalidArgument(fmt::format("{}: no feature columns besides the label", path));
  }
  return c;
}

Result<ExampleParser> ExampleParser::Make(const ParserOptions& options) {
  ECPS_RETURN_IF_ERROR(options.Validate());
  if (options.format == DataFormat::kCsv) {
    return InvalidArgument("csv parsers are made with MakeCsv (they need the header)");
  }
  ExampleParser p;
  p.options_ = options;
  p.num_buckets_ = options.num_features > 0 ? options.num_features : (std::uint64_t{1} << options.hash_bits);
  return p;
}

Result<ExampleParser> ExampleParser::MakeCsv(const ParserOptions& options, const CsvColumns& columns,
                                             std::string_view header_line, const std::string& path) {
  ECPS_RETURN_IF_ERROR(options.Validate());
  ECPS_ASSIGN_OR_RETURN(CsvHeader header, CsvHeader::Parse(header_line, options.delimiter, path));
  ExampleParser p;
  p.options_ = options;
  p.options_.format = DataFormat::kCsv;
  p.columns_ = columns;
  p.num_fields_ = header.names().size();
  p.num_buckets_ = columns.categorical.empty() ? 0 : (std::uint64_t{1} << options.hash_bits);
  p.num_numeric_ = columns.numeric.size();
  auto label = header.Find(columns.label);
  if (label.ok()) {
    p.label_index_ = static_cast<int>(*label);
  } else if (!options.label_optional) {
    return label.status();
  }
  for (const auto& n : columns.numeric) {
    ECPS_ASSIGN_OR_RETURN(std::size_t i, header.Find(n));
    p.numeric_index_.push_back(i);
  }
  for (const auto& n : columns.categorical) {
    ECPS_ASSIGN_OR_RETURN(std::size_t i, header.Find(n));
    p.categorical_index_.push_back(i);
    p.categorical_seed_.push_back(util::HashFeature(n, 0xca7e6025ULL));
  }
  return p;
}

std::uint32_t ExampleParser::IndexKey(std::uint64_t index) const {
  if (options_.num_features > 0) return static_cast<std::uint32_t>(index);
  return Bucket(util::MixId(index ^ kIndexSeed), num_buckets_);
}

std::uint32_t ExampleParser::FieldIndexKey(std::uint64_t field, std::uint64_t index) const {
  if (options_.num_features > 0) return static_cast<std::uint32_t>(index);
  return Bucket(util::MixId(index ^ util::MixId(field + kIndexSeed)), num_buckets_);
}

std::uint32_t ExampleParser::CategoryKey(std::size_t j, std::string_view value) const {
  return Bucket(util::HashFeature(value, categorical_seed_[j]), num_buckets_);
}

std::string_view ExampleParser::CategoryValue(const ParseScratch& scratch, std::size_t j) const {
  return Trim(scratch.fields[categorical_index_[j]]);
}

Status ExampleParser::Parse(std::string_view line, float* label, std::vector<std::uint32_t>* keys,
                            std::vector<float>* values, ParseScratch* scratch) const {
  if (options_.format == DataFormat::kCsv) return ParseCsv(line, label, keys, values, scratch);
  return ParseSparse(line, label, keys, values);
}

Status ExampleParser::ParseLabel(std::string_view t, float* label) const {
  if (options_.label_kind == LabelKind::kBinary) {
    if (t == "1" || t == "+1") {
      *label = 1.0f;
      return Status::Ok();
    }
    if (t == "0" || t == "-1") {
      *label = 0.0f;
      return Status::Ok();
    }
    auto v = ParseDouble(t);
    if (!v) return DataError(fmt::format("label {} is not a number", Quoted(t)));
    if (*v == 1.0) {
      *label = 1.0f;
    } else if (*v == 0.0 || *v == -1.0) {
      *label = 0.0f;
    } else {
      return DataError(fmt::format("label {} is not 0/1 or -1/+1", Quoted(t)));
    }
    return Status::Ok();
  }
  auto v = ParseDouble(t);
  if (!v) return DataError(fmt::format("label {} is not a number", Quoted(t)));
  if (!WithinDataLimit(*v)) return DataError("label " + DataLimitMessage(t));
  *label = static_cast<float>(*v);
  return Status::Ok();
}

namespace {

// Appends the features of well-formed "idx:val" (kFfm: "field:idx:val") tokens of [p, end);
// false at the first token that is not (the caller truncates and parses the general way).
// libffm values are read as doubles and rounded to float, as the general loop does.
template <bool kFfm>
bool FastTokens(const char* p, const char* end, const ExampleParser& parser, std::vector<std::uint32_t>* keys,
                std::vector<float>* values) {
  const std::uint64_t num_features = parser.options().num_features;
  while (true) {
    while (p < end && IsSpace(*p)) ++p;
    if (p == end) return true;
    std::uint64_t field = 0, idx = 0;
    if (kFfm && !(p = IndexColon(p, end, &field))) return false;
    if (!(p = IndexColon(p, end, &idx))) return false;
    float v = 1.0f;
    if (p < end && *p == '1' && (p + 1 == end || IsSpace(p[1]))) {
      ++p;
    } else {
      const char* vs = p;
      while (p < end && !IsSpace(*p)) ++p;
      const std::string_view text(vs, static_cast<std::size_t>(p - vs));
      if constexpr (kFfm) {
        double d = 0;
        if (!ParseValue(text, &d) || !std::isfinite(d) || !WithinDataLimit(d)) return false;
        v = static_cast<float>(d);
      } else {
        if (!ParseValue(text, &v) || !WithinDataLimit(v)) return false;
      }
    }
    if (num_features > 0 && idx >= num_features) return false;
    keys->push_back(kFfm ? parser.FieldIndexKey(field, idx) : parser.IndexKey(idx));
    values->push_back(v);
  }
}

}  // namespace

Status ExampleParser::ParseSparse(std::string_view line, float* label, std::vector<std::uint32_t>* keys,
                                  std::vector<float>* values) const {
  const bool ffm = options_.format == DataFormat::kLibffm;
  std::size_t pos = 0;
  std::string_view tok = NextToken(line, &pos);
  if (tok.empty()) return DataError("empty line (no label)");
  if (options_.label_optional && tok.find(':') != std::string_view::npos) {
    *label = std::numeric_limits<float>::quiet_NaN();
    pos = 0;  // the first token is a feature
  } else {
    ECPS_RETURN_IF_ERROR(ParseLabel(tok, label));
  }
  {
    // Fast path for well-formed tokens; anything unusual (comments, errors, signs, huge
    // indices) is left to the general loop below, which says what is wrong.
    const std::size_t mark = keys->size();
    const char* p = line.data() + pos;
    const char* end = line.data() + line.size();
    if (ffm ? FastTokens<true>(p, end, *this, keys, values) : FastTokens<false>(p, end, *this, keys, values)) {
      if (options_.bias) {
        keys->push_back(static_cast<std::uint32_t>(bias_key()));
        values->push_back(1.0f);
      }
      return Status::Ok();
    }
    values->resize(values->size() - (keys->size() - mark));
    keys->resize(mark);
  }
  const char* shape = ffm ? "field:idx:value" : "idx:value";
  while (true) {
    tok = NextToken(line, &pos);
    if (tok.empty()) break;
    if (tok.front() == '#') break;  // trailing comment
    std::size_t c1 = tok.find(':');
    if (c1 == std::string_view::npos) return DataError(fmt::format("feature {} is not {}", Quoted(tok), shape));
    std::uint64_t field = 0;
    std::string_view rest = tok.substr(c1 + 1);
    std::string_view idx_s = tok.substr(0, c1);
    if (ffm) {
      std::size_t c2 = rest.find(':');
      if (c2 == std::string_view::npos) return DataError(fmt::format("feature {} is not {}", Quoted(tok), shape));
      if (ParseUint(idx_s, &field) != UintParse::kOk) {
        return DataError(fmt::format("feature {}: field {} is not a non-negative integer", Quoted(tok), Quoted(idx_s)));
      }
      idx_s = rest.substr(0, c2);
      rest = rest.substr(c2 + 1);
    }
    std::uint64_t idx = 0;
    switch (ParseUint(idx_s, &idx)) {
      case UintParse::kOk: break;
      case UintParse::kOutOfRange:
        return DataError(fmt::format("feature {}: index {} is out of range", Quoted(tok), Quoted(idx_s)));
      case UintParse::kNotInteger:
        return DataError(fmt::format("feature {}: index {} is not a non-negative integer", Quoted(tok), Quoted(idx_s)));
    }
    double v = 0;
    if (!ParseValue(rest, &v)) return DataError(fmt::format("feature {} is not {}", Quoted(tok), shape));
    if (!std::isfinite(v)) return DataError(fmt::format("feature {}: value is not finite", Quoted(tok)));
    if (!WithinDataLimit(v)) return DataError(fmt::format("feature {}: {}", Quoted(tok), DataLimitMessage(rest)));
    if (options_.num_features > 0 && idx >= options_.num_features) {
      return DataError(fmt::format("feature {}: index {} is not below --num-features {}", Quoted(tok), idx,
                                   options_.num_features));
    }
    keys->push_back(ffm ? FieldIndexKey(field, idx) : IndexKey(idx));
    values->push_back(static_cast<float>(v));
  }
  if (options_.bias) {
    keys->push_back(static_cast<std::uint32_t>(bias_key()));
    values->push_back(1.0f);
  }
  return Status::Ok();
}

Status ExampleParser::ParseCsv(std::string_view line, float* label, std::vector<std::uint32_t>* keys,
                               std::vector<float>* values, ParseScratch* s) const {
  if (Trim(line).empty()) return DataError("empty line");
  ECPS_RETURN_IF_ERROR(SplitCsv(line, options_.delimiter, &s->fields, &s->unquoted));
  if (s->fields.size() != num_fields_) {
    return DataError(fmt::format("has {} fields, the header has {}", s->fields.size(), num_fields_));
  }
  if (label_index_ < 0) {
    *label = std::numeric_limits<float>::quiet_NaN();
  } else {
    std::string_view t = Trim(s->fields[static_cast<std::size_t>(label_index_)]);
    if (t.empty()) return DataError(fmt::format("column \"{}\": empty label", columns_.label));
    if (options_.label_kind == LabelKind::kBinary) {
      auto v = ParseBinaryLabel(t);
      if (!v) {
        return DataError(fmt::format("column \"{}\": {} is not a binary label (0/1, -1/+1, true/false, yes/no)",
                                     columns_.label, Quoted(t)));
      }
      *label = static_cast<float>(*v);
    } else {
      auto v = ParseDouble(t);
      if (!v) return DataError(fmt::format("column \"{}\": label {} is not a number", columns_.label, Quoted(t)));
      if (!WithinDataLimit(*v)) {
        return DataError(fmt::format("column \"{}\": label {}", columns_.label, DataLimitMessage(t)));
      }
      *label = static_cast<float>(*v);
    }
  }
  for (std::size_t j = 0; j < categorical_index_.size(); ++j) {
    keys->push_back(CategoryKey(j, Trim(s->fields[categorical_index_[j]])));
    values->push_back(1.0f);
  }
  if (options_.bias) {
    keys->push_back(static_cast<std::uint32_t>(bias_key()));
    values->push_back(1.0f);
  }
  for (std::size_t j = 0; j < numeric_index_.size(); ++j) {
    std::string_view t = Trim(s->fields[numeric_index_[j]]);
    if (t.empty()) continue;  // missing: the feature is absent (0 after standardisation)
    auto v = ParseDouble(t);
    if (!v) return DataError(fmt::format("column \"{}\": {} is not a number", columns_.numeric[j], Quoted(t)));
    if (!WithinDataLimit(*v)) {
      return DataError(fmt::format("column \"{}\": {}", columns_.numeric[j], DataLimitMessage(t)));
    }
    keys->push_back(static_cast<std::uint32_t>(numeric_key(j)));
    values->push_back(static_cast<float>(*v));
  }
  return Status::Ok();
}

}  // namespace ecps::worker
