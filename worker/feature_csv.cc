#include "worker/feature_csv.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/input_file.h"
#include "worker/csv_scan.h"
#include "worker/decimal.h"
#include "worker/line_reader.h"

namespace ecps::worker {
namespace {

// "column=a|b|c" -> column and categories.
Result<ColumnEncoding> ParseEncoding(const std::string& spec, ColumnEncoding::Kind kind,
                                     std::string_view option) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    return InvalidArgument(fmt::format(
        "{} \"{}\": expected COLUMN=CATEGORY|CATEGORY|... (e.g. \"gender=F|M\")", option, spec));
  }
  ColumnEncoding e;
  e.column = spec.substr(0, eq);
  e.kind = kind;
  std::string_view rest = std::string_view(spec).substr(eq + 1);
  std::set<std::string, std::less<>> seen;
  while (true) {
    const auto bar = rest.find('|');
    std::string cat(Trim(rest.substr(0, bar)));
    if (cat.empty()) return InvalidArgument(fmt::format("{} \"{}\": empty category", option, spec));
    if (!seen.insert(cat).second) {
      return InvalidArgument(fmt::format("{} \"{}\": category \"{}\" listed twice", option, spec, cat));
    }
    e.categories.push_back(std::move(cat));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return e;
}

}  // namespace

Result<FeatureSchema> FeatureSchema::Make(const FeatureColumnsOptions& o) {
  if (o.features.empty()) return InvalidArgument("--features: give at least one feature column");
  FeatureSchema s;
  s.id_column_ = o.id_column;
  s.label_column_ = o.label_column;
  s.delimiter_ = o.delimiter;
  std::vector<ColumnEncoding> encodings;
  for (const auto& spec : o.one_hot) {
    ECPS_ASSIGN_OR_RETURN(auto e, ParseEncoding(spec, ColumnEncoding::Kind::kOneHot, "--one-hot"));
    encodings.push_back(std::move(e));
  }
  for (const auto& spec : o.ordinal) {
    ECPS_ASSIGN_OR_RETURN(auto e, ParseEncoding(spec, ColumnEncoding::Kind::kOrdinal, "--ordinal"));
    encodings.push_back(std::move(e));
  }
  std::set<std::string, std::less<>> names;
  for (const auto& f : o.features) {
    if (!names.insert(f).second) return InvalidArgument(fmt::format("--features: \"{}\" listed twice", f));
    if (f == o.id_column) {
      return InvalidArgument(fmt::format("--features: \"{}\" is the id column", f));
    }
    if (!o.label_column.empty() && f == o.label_column) {
      return InvalidArgument(fmt::format(
          "--features: \"{}\" is the label column (labels are for evaluation only)", f));
    }
  }
  std::set<std::string, std::less<>> encoded;
  for (const auto& e : encodings) {
    if (!names.count(e.column)) {
      return InvalidArgument(fmt::format("{} names \"{}\", which is not in --features",
                                         e.kind == ColumnEncoding::Kind::kOneHot ? "--one-hot" : "--ordinal",
                                         e.column));
    }
    if (!encoded.insert(e.column).second) {
      return InvalidArgument(fmt::format("column \"{}\" is given more than one encoding", e.column));
    }
  }
  for (const auto& f : o.features) {
    auto it = std::find_if(encodings.begin(), encodings.end(), [&](const auto& e) { return e.column == f; });
    ColumnEncoding c;
    if (it != encodings.end()) c = *it;
    c.column = f;
    if (c.kind == ColumnEncoding::Kind::kOneHot) {
      for (const auto& cat : c.categories) s.output_names_.push_back(f + "=" + cat);
    } else {
      s.output_names_.push_back(f);
    }
    s.columns_.push_back(std::move(c));
  }
  return s;
}

Result<FeatureRowParser> FeatureRowParser::Bind(const FeatureSchema& schema, const CsvHeader& header) {
  FeatureRowParser p;
  p.schema_ = &schema;
  p.num_fields_ = header.names().size();
  p.line_ids_ = schema.line_ids();
  if (!p.line_ids_) {
    ECPS_ASSIGN_OR_RETURN(p.id_field_, header.Find(schema.id_column()));
  }
  if (schema.has_label()) {
    ECPS_ASSIGN_OR_RETURN(p.label_field_, header.Find(schema.label_column()));
  }
  std::size_t out = 0;
  for (const auto& c : schema.columns()) {
    ECPS_ASSIGN_OR_RETURN(std::size_t field, header.Find(c.column));
    p.bound_.push_back({field, &c, out});
    out += c.kind == ColumnEncoding::Kind::kOneHot ? c.categories.size() : 1;
  }
  p.roles_.assign(p.num_fields_, {});
  p.fast_ok_ = schema.delimiter() != kDoubleColon;
  const auto assign = [&](std::size_t field, Role role, std::size_t bound) {
    if (p.roles_[field].role != Role::kSkip) p.fast_ok_ = false;  // one field, two roles
    p.roles_[field] = {role, static_cast<std::uint32_t>(bound)};
  };
  if (!p.line_ids_) assign(p.id_field_, Role::kId, 0);
  if (schema.has_label()) assign(p.label_field_, Role::kLabel, 0);
  for (std::size_t i = 0; i < p.bound_.size(); ++i) {
    const bool numeric = p.bound_[i].enc->kind == ColumnEncoding::Kind::kNumeric;
    assign(p.bound_[i].field, numeric ? Role::kNumeric : Role::kCategory, i);
  }
  return p;
}

Result<FeatureRowParser> FeatureRowParser::Open(const FeatureSchema& schema, const std::string& path) {
  auto first = ReadFirstRecord(path, schema.records());
  if (!first.ok()) return first.status();
  if (Trim(*first).empty()) return DataError(fmt::format("{}: empty file or empty header line", path));
  ECPS_ASSIGN_OR_RETURN(auto header, CsvHeader::Parse(*first, schema.delimiter(), path));
  return Bind(schema, header);
}

bool FeatureRowParser::ParseFast(std::string_view line, std::string_view* id, double* features,
                                 int* label) const {
  const char delim = schema_->delimiter();
  const char* p = line.data();
  const char* const e = p + line.size();
  const char* id_begin = nullptr;  // stored at the end: a view stored per field stalls
  std::size_t id_size = 0;
  for (std::size_t f = 0; f < num_fields_; ++f) {
    if (f > 0) {  // at the delimiter that ends the previous field
      if (p == e) return false;
      ++p;
    }
    if (p < e && *p == '"') return false;
    const FieldRole r = roles_[f];
    if (r.role == Role::kNumeric) {
      // At most 15 digits: within kMaxDataMagnitude.
      p = scan::ScanDecimal(p, e, &features[bound_[r.bound].out]);
      if (!p || (p < e && *p != delim)) return false;
      continue;
    }
    const char* start = p;
    p = scan::FieldEnd(p, e, delim);
    if (r.role == Role::kSkip) continue;
    const char* stop = p;
    scan::TrimSpan(&start, &stop);
    const std::string_view v(start, static_cast<std::size_t>(stop - start));
    if (r.role == Role::kId) {
      if (start == stop) return false;
      id_begin = start;
      id_size = static_cast<std::size_t>(stop - start);
    } else if (r.role == Role::kLabel) {
      if (v.size() == 1 && (v[0] == '0' || v[0] == '1')) {
        *label = v[0] - '0';
      } else {
        const auto l = ParseBinaryLabel(v);
        if (!l) return false;
        *label = *l;
      }
    } else {
      const Bound& b = bound_[r.bound];
      const auto& cats = b.enc->categories;
      const auto it = std::find(cats.begin(), cats.end(), v);
      if (it == cats.end()) return false;
      const auto idx = static_cast<std::size_t>(it - cats.begin());
      if (b.enc->kind == ColumnEncoding::Kind::kOrdinal) {
        features[b.out] = static_cast<double>(idx);
      } else {
        for (std::size_t j = 0; j < cats.size(); ++j) features[b.out + j] = j == idx ? 1.0 : 0.0;
      }
    }
  }
  *id = std::string_view(id_begin, id_size);
  return p == e;
}

Status FeatureRowParser::Parse(std::string_view line, std::string_view* id, double* features, int* label) {
  if (fast_ok_ && ParseFast(line, id, features, label)) return Status::Ok();
  ECPS_RETURN_IF_ERROR(SplitCsv(line, schema_->delimiter(), &fields_, &scratch_));
  if (fields_.size() != num_fields_) {
    return DataError(fmt::format("expected {} fields (as in the header), found {}", num_fields_, fields_.size()));
  }
  *id = line_ids_ ? std::string_view() : Trim(fields_[id_field_]);
  if (id->empty() && !line_ids_) {
    return DataError(fmt::format("column \"{}\": empty user id", schema_->id_column()));
  }
  for (const auto& b : bound_) {
    const std::string_view raw = Trim(fields_[b.field]);
    const ColumnEncoding& c = *b.enc;
    if (raw.empty() && missing_as_nan_ && c.kind == ColumnEncoding::Kind::kNumeric) {
      features[b.out] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    if (raw.empty()) return DataError(fmt::format("column \"{}\": missing value", c.column));
    if (c.kind == ColumnEncoding::Kind::kNumeric) {
      double simple = 0;
      if (SimpleDecimal(raw, &simple) && WithinDataLimit(simple)) {  // what ParseDouble gives
        features[b.out] = simple;
        continue;
      }
      auto v = ParseDouble(raw);
      if (!v) return DataError(fmt::format("column \"{}\": \"{}\" is not a finite number", c.column, raw));
      if (!WithinDataLimit(*v)) return DataError(fmt::format("column \"{}\": {}", c.column, DataLimitMessage(raw)));
      features[b.out] = *v;
      continue;
    }
    auto it = std::find(c.categories.begin(), c.categories.end(), raw);
    if (it == c.categories.end()) {
      return DataError(fmt::format("column \"{}\": \"{}\" is not one of the listed categories ({})", c.column,
                                   raw, fmt::join(c.categories, "|")));
    }
    const auto idx = static_cast<std::size_t>(it - c.categories.begin());
    if (c.kind == ColumnEncoding::Kind::kOrdinal) {
      features[b.out] = static_cast<double>(idx);
    } else {
      for (std::size_t j = 0; j < c.categories.size(); ++j) features[b.out + j] = j == idx ? 1.0 : 0.0;
    }
  }
  if (schema_->has_label()) {
    auto l = ParseBinaryLabel(fields_[label_field_]);
    if (!l) {
      return DataError(fmt::format("column \"{}\": \"{}\" is not a 0/1 label", schema_->label_column(),
                                   Trim(fields_[label_field_])));
    }
    *label = *l;
  }
  return Status::Ok();
}

namespace {

// The values of a column, sorted as numbers when they all are (codes 1, 2, 10), else as text.
std::vector<std::string> SortedValues(const std::set<std::string, std::less<>>& values) {
  std::vector<std::string> v(values.begin(), values.end());
  if (std::all_of(v.begin(), v.end(), [](const std::string& x) { return ParseDouble(x).has_value(); })) {
    std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) { return *ParseDouble(a) < *ParseDouble(b); });
  }
  return v;
}

bool AllIntegers(const std::set<std::string, std::less<>>& values) {
  return std::all_of(values.begin(), values.end(), [](const std::string& x) {
    const auto d = ParseDouble(x);
    return d && std::floor(*d) == *d;
  });
}

}  // namespace

Status ResolveDeclaredCategorical(const std::vector<std::string>& declared, const std::string& path,
                                  FeatureColumnsOptions* options, std::vector<std::string>* warnings) {
  constexpr std::size_t kMaxCategories = 10000, kSniffRows = 1000, kMinRows = 100;
  const auto encoded = [&](const std::string& name) {
    for (const auto* specs : {&options->one_hot, &options->ordinal}) {
      for (const auto& spec : *specs) {
        if (spec.substr(0, spec.find('=')) == name) return true;
      }
    }
    return false;
  };
  for (const auto& name : declared) {
    if (std::find(options->features.begin(), options->features.end(), name) == options->features.end()) {
      return InvalidArgument(fmt::format("--categorical names \"{}\", which is not in --features", name));
    }
    if (encoded(name)) {
      return InvalidArgument(fmt::format("--categorical {}: already given --one-hot or --ordinal", name));
    }
  }
  ReadOptions records;
  records.csv_records = true;
  records.delimiter = options->delimiter;
  ECPS_ASSIGN_OR_RETURN(std::string first, ReadFirstRecord(path, records));
  ECPS_ASSIGN_OR_RETURN(auto header, CsvHeader::Parse(first, options->delimiter, path));
  struct Column {
    std::string name;
    std::size_t field;
    bool declared;
    std::set<std::string, std::less<>> values;
  };
  std::vector<Column> columns;
  for (const auto& name : options->features) {
    const bool is_declared = std::find(declared.begin(), declared.end(), name) != declared.end();
    if (!is_declared && encoded(name)) continue;
    auto field = header.Find(name);
    if (!field.ok()) {
      if (is_declared) return field.status().WithContext("--categorical");
      continue;  // FeatureRowParser reports it
    }
    columns.push_back({name, *field, is_declared, {}});
  }
  ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::OpenFile(path, records));
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  std::string_view line;
  std::size_t rows = 0;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    if (reader->offset() == 0 || Trim(line).empty()) continue;
    if (!SplitCsv(line, options->delimiter, &fields, &scratch).ok() || fields.size() != header.names().size()) {
      continue;  // reported with its line when the rows are read
    }
    if (declared.empty() && rows >= kSniffRows) break;
    ++rows;
    for (auto& c : columns) {
      const std::string_view v = Trim(fields[c.field]);
      if (v.empty() || (!c.declared && rows > kSniffRows)) continue;
      if (c.declared && c.values.size() >= kMaxCategories && !c.values.count(v)) {
        return DataError(fmt::format("{}: --categorical {}: more than {} distinct values (not a code?)", reader->Where(),
                                     c.name, kMaxCategories));
      }
      if (c.declared && v.find('|') != std::string_view::npos) {
        return DataError(fmt::format("{}: --categorical {}: a category cannot contain \"|\" (\"{}\")", reader->Where(),
                                     c.name, v));
      }
      c.values.emplace(v);
    }
  }
  for (const auto& c : columns) {
    if (c.declared) {
      if (c.values.empty()) return DataError(fmt::format("{}: --categorical {}: the column has no values", path, c.name));
      options->one_hot.push_back(fmt::format("{}={}", c.name, fmt::join(SortedValues(c.values), "|")));
    } else if (std::min(rows, kSniffRows) >= kMinRows && c.values.size() >= 3 && c.values.size() <= 10 &&
               AllIntegers(c.values)) {
      warnings->push_back(fmt::format(
          "column \"{}\" is used as a number, but its first {} values are only {} distinct integers ({}): if they "
          "are codes (a browser, a region), declare it with --categorical {}",
          c.name, std::min(rows, kSniffRows), c.values.size(), fmt::join(SortedValues(c.values), ", "), c.name));
    }
  }
  return Status::Ok();
}

Result<std::uint64_t> LineNumberAt(const std::string& path, std::uint64_t offset) {
  ECPS_ASSIGN_OR_RETURN(std::string local, util::LocalInputPath(path));
  std::FILE* f = std::fopen(local.c_str(), "rb");
  if (!f) return IoError(fmt::format("{}: cannot open", path));
  std::uint64_t line = 1, pos = 0;
  char buf[1 << 16];
  while (pos < offset) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, offset - pos));
    const std::size_t got = std::fread(buf, 1, want, f);
    if (got == 0) break;
    line += static_cast<std::uint64_t>(std::count(buf, buf + got, '\n'));
    pos += got;
  }
  std::fclose(f);
  return line;
}

}  // namespace ecps::worker
