#include "worker/interactions.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "worker/csv.h"

namespace ecps::worker {
namespace {


bool Blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Splits on runs of spaces/tabs (leading and trailing ones ignored).
void SplitWhitespace(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == n) break;
    std::size_t j = i;
    while (j < n && line[j] != ' ' && line[j] != '\t') ++j;
    fields->push_back(line.substr(i, j - i));
    i = j;
  }
}

void SplitTabs(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  std::size_t start = 0;
  while (true) {
    std::size_t tab = line.find('\t', start);
    fields->push_back(Trim(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start)));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
}

Status Split(std::string_view line, char delimiter, std::vector<std::string_view>* fields,
             std::deque<std::string>* scratch) {
  if (delimiter == ',') {
    ECPS_RETURN_IF_ERROR(SplitCsv(line, ',', fields, scratch));
    for (auto& f : *fields) f = Trim(f);
    return Status::Ok();
  }
  if (delimiter == '\t') {
    SplitTabs(line, fields);
  } else {
    SplitWhitespace(line, fields);
  }
  return Status::Ok();
}

std::string Normalised(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '-' || c == ' ' || c == '"') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool LooksLikeColumnName(std::string_view field) {
  static const std::array<std::string_view, 20> kNames = {
      "user",    "userid",  "uid",     "users",   "customer", "customerid", "visitor",
      "visitorid", "member", "memberid", "item",   "itemid",   "iid",        "items",
      "product", "productid", "sku",   "article", "movie",    "movieid"};
  const std::string n = Normalised(field);
  return std::find(kNames.begin(), kNames.end(), n) != kNames.end();
}

bool NamesTimestamp(std::string_view field) {
  static const std::array<std::string_view, 8> kNames = {"timestamp", "time",     "ts",       "date",
                                                          "datetime",  "eventtime", "unixtime", "when"};
  const std::string n = Normalised(field);
  return std::find(kNames.begin(), kNames.end(), n) != kNames.end();
}

}  // namespace

Result<HeaderMode> ParseHeaderMode(std::string_view s) {
  if (s == "auto") return HeaderMode::kAuto;
  if (s == "yes" || s == "true") return HeaderMode::kYes;
  if (s == "no" || s == "false") return HeaderMode::kNo;
  return InvalidArgument(fmt::format("--header must be auto, yes or no, got \"{}\"", s));
}

std::string InteractionFormat::Describe() const {
  const char* sep = delimiter == ',' ? "comma-separated" : delimiter == '\t' ? "tab-separated" : "space-separated";
  std::string cols = "user item";
  for (int c = 2; c < columns; ++c) cols += c == rating_column ? " rating" : c == timestamp_column ? " timestamp" : " ?";
  return fmt::format("{}, {} columns ({}), {}", sep, columns, cols, header ? "header" : "no header");
}

Result<InteractionFormat> DetectInteractionFormat(const std::string& path, HeaderMode mode) {
  ECPS_ASSIGN_OR_RETURN(std::string first, ReadFirstLine(path));
  if (Blank(first)) {
    return DataError(fmt::format("{}:1: the file is empty or starts with a blank line; expected "
                                 "user item [rating [timestamp]]",
                                 path));
  }
  InteractionFormat f;
  f.delimiter = first.find(',') != std::string::npos ? ',' : first.find('\t') != std::string::npos ? '\t' : ' ';
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  Status s = Split(first, f.delimiter, &fields, &scratch);
  if (!s.ok()) return DataError(fmt::format("{}:1: {}", path, s.message()));
  if (fields.size() < 2 || fields.size() > 4) {
    return DataError(fmt::format("{}:1: expected 2 to 4 fields (user item [rating [timestamp]]), found {}",
                                 path, fields.size()));
  }
  f.columns = static_cast<int>(fields.size());
  switch (mode) {
    case HeaderMode::kYes: f.header = true; break;
    case HeaderMode::kNo: f.header = false; break;
    case HeaderMode::kAuto:
      f.header = LooksLikeColumnName(fields[0]) || LooksLikeColumnName(fields[1]);
      for (std::size_t c = 2; c < fields.size(); ++c) {
        if (!ParseDouble(fields[c])) f.header = true;
      }
      break;
  }
  // Positional roles, unless a header names the third column as a time.
  if (f.columns >= 3) f.rating_column = 2;
  if (f.columns == 4) f.timestamp_column = 3;
  if (f.header && f.columns == 3 && NamesTimestamp(fields[2])) {
    f.rating_column = -1;
    f.timestamp_column = 2;
  }
  if (f.header && f.columns == 4 && NamesTimestamp(fields[2])) {
    f.rating_column = 3;
    f.timestamp_column = 2;
  }
  return f;
}

Result<bool> ParseInteractionLine(std::string_view line, const InteractionFormat& format,
                                  InteractionRow* row, std::vector<std::string_view>* fields,
                                  std::deque<std::string>* scratch) {
  if (Blank(line)) return false;
  scratch->clear();
  ECPS_RETURN_IF_ERROR(Split(line, format.delimiter, fields, scratch));
  const auto& f = *fields;
  if (f.size() != static_cast<std::size_t>(format.columns)) {
    std::string cols = format.Describe();
    cols = cols.substr(cols.find('(') + 1, cols.find(')') - cols.find('(') - 1);
    return DataError(fmt::format("expected {} fields ({}), found {}", format.columns, cols, f.size()));
  }
  if (f[0].empty()) return DataError("empty user id");
  if (f[1].empty()) return DataError("empty item id");
  row->user = f[0];
  row->item = f[1];
  row->rating = 1.0;
  row->timestamp = 0.0;
  if (format.has_rating()) {
    const auto field = f[static_cast<std::size_t>(format.rating_column)];
    auto r = ParseDouble(field);
    if (!r) return DataError(fmt::format("rating \"{}\" is not a finite number", field));
    if (!WithinDataLimit(*r)) return DataError("rating " + DataLimitMessage(field));
    row->rating = *r;
  }
  if (format.has_timestamp()) {
    const auto field = f[static_cast<std::size_t>(format.timestamp_column)];
    auto t = ParseDouble(field);
    if (!t) return DataError(fmt::format("timestamp \"{}\" is not a finite number", field));
    row->timestamp = *t;
  }
  return true;
}

Result<std::unique_ptr<InteractionReader>> InteractionReader::Open(const sched::FileRange& range,
                                                                   const InteractionFormat& format,
                                                                   bool skip_bad_rows) {
  ECPS_ASSIGN_OR_RETURN(auto lines, LineReader::Open(range));
  return std::unique_ptr<InteractionReader>(
      new InteractionReader(std::move(lines), format, skip_bad_rows, format.header && range.begin == 0));
}

Result<bool> InteractionReader::Next(InteractionRow* row) {
  std::string_view line;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool more, lines_->Next(&line));
    if (!more) return false;
    if (pending_header_) {
      pending_header_ = false;
      if (lines_->offset() == 0) continue;
    }
    auto parsed = ParseInteractionLine(line, format_, row, &fields_, &scratch_);
    if (parsed.ok()) {
      if (*parsed) return true;
      continue;  // blank line
    }
    Status bad = parsed.status().WithContext(lines_->Where());
    if (!skip_) return bad;
    ++skipped_;
    if (examples_.size() < kMaxExamples) examples_.push_back(bad.message());
  }
}

}  // namespace ecps::worker
