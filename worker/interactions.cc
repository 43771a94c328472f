#include "worker/interactions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <optional>

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
  if (delimiter == '\t') {
    SplitTabs(line, fields);
  } else if (delimiter == ' ') {
    SplitWhitespace(line, fields);
  } else {  // ',', "::" or a --delimiter character: CSV rules
    ECPS_RETURN_IF_ERROR(SplitCsv(line, delimiter, fields, scratch));
    for (auto& f : *fields) f = Trim(f);
  }
  return Status::Ok();
}

// The common case of ParseInteractionLine without building a Status: a line without quotes
// whose fields are all well-formed. False: ParseInteractionLine decides (and words the error).
bool ParseFast(std::string_view line, const InteractionFormat& format, InteractionRow* row,
               std::vector<std::string_view>* fields) {
  if (format.delimiter == '\t') {
    SplitTabs(line, fields);
  } else if (format.delimiter == ' ') {
    SplitWhitespace(line, fields);
  } else {
    if (std::memchr(line.data(), '"', line.size())) return false;
    fields->clear();
    const std::string_view sep = format.delimiter == kDoubleColon ? std::string_view("::")
                                                                  : std::string_view(&format.delimiter, 1);
    for (std::size_t start = 0;;) {
      const std::size_t at = sep.size() == 1 ? line.find(sep[0], start) : line.find(sep, start);
      fields->push_back(Trim(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start)));
      if (at == std::string_view::npos) break;
      start = at + sep.size();
    }
  }
  const auto& f = *fields;
  if (f.size() != static_cast<std::size_t>(format.columns)) return false;
  row->user = f[static_cast<std::size_t>(format.user_column)];
  row->item = f[static_cast<std::size_t>(format.item_column)];
  if (row->user.empty() || row->item.empty()) return false;
  row->rating = 1.0;
  row->timestamp = 0.0;
  if (format.has_rating()) {
    const auto r = ParseDouble(f[static_cast<std::size_t>(format.rating_column)]);
    if (!r || !WithinDataLimit(*r)) return false;
    row->rating = *r;
  }
  if (format.has_timestamp()) {
    const auto t = ParseDouble(f[static_cast<std::size_t>(format.timestamp_column)]);
    if (!t) return false;
    row->timestamp = *t;
  }
  return true;
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

bool NamesRating(std::string_view field) {
  static const std::array<std::string_view, 10> kNames = {
      "rating", "ratings", "score", "stars", "weight", "value", "count", "quantity", "qty", "preference"};
  const std::string n = Normalised(field);
  return std::find(kNames.begin(), kNames.end(), n) != kNames.end();
}

bool NamesTimestamp(std::string_view field) {
  static const std::array<std::string_view, 8> kNames = {"timestamp", "time",     "ts",       "date",
                                                          "datetime",  "eventtime", "unixtime", "when"};
  const std::string n = Normalised(field);
  return std::find(kNames.begin(), kNames.end(), n) != kNames.end();
}


// Rows whose values decide a column's role when neither --columns nor a header name does.
constexpr std::size_t kSniffRows = 1000;
// Epoch times: integers in [1e8, 1e13) (seconds from 1973, or milliseconds).
constexpr double kMinEpoch = 1e8, kMaxEpoch = 1e13;
// Ratings (and weights, counts): values within this magnitude.
constexpr double kMaxRating = 1e6;

enum class RoleSet { kUser, kItem, kRating, kTimestamp, kSkip };

std::optional<RoleSet> RoleNamed(std::string_view s) {
  if (s == "user") return RoleSet::kUser;
  if (s == "item") return RoleSet::kItem;
  if (s == "rating") return RoleSet::kRating;
  if (s == "timestamp") return RoleSet::kTimestamp;
  if (s == "-") return RoleSet::kSkip;
  return std::nullopt;
}

// How records of a file with this separator are read: CSV records (quoted fields may span
// lines) unless fields are separated by tabs or spaces (no quoting).
ReadOptions Reading(char delimiter) {
  return delimiter == '\t' || delimiter == ' ' ? ReadOptions{} : CsvRecords(delimiter);
}

// The first `n` records of `path` (at least one; blank ones after the first are left out).
Result<std::vector<std::string>> ReadFirstLines(const std::string& path, std::size_t n,
                                                const ReadOptions& reading) {
  ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::OpenFile(path, reading));
  std::vector<std::string> lines;
  std::string_view line;
  while (lines.size() < n) {
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    if (lines.empty() || !Blank(line)) lines.emplace_back(line);
  }
  if (lines.empty()) return DataError(fmt::format("{}: the file is empty", path));
  return lines;
}

// The first data rows of a file, to look at a column's values.
struct ColumnSample {
  const std::string& path;
  char delimiter;
  std::vector<std::string> rows;
};

enum class ValueKind { kNone, kTimestamp, kRating, kNeither };

// What the sampled values of column `c` look like; *example: a value that is neither.
ValueKind Classify(const ColumnSample& sample, int c, std::string* example) {
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  bool any = false, all_epoch = true, all_rating = true;
  for (const auto& row : sample.rows) {
    if (!Split(row, sample.delimiter, &fields, &scratch).ok() ||
        fields.size() <= static_cast<std::size_t>(c)) {
      continue;  // the reader reports it with its line
    }
    const auto v = ParseDouble(fields[static_cast<std::size_t>(c)]);
    if (!v || !WithinDataLimit(*v)) continue;
    any = true;
    const bool epoch = *v >= kMinEpoch && *v < kMaxEpoch && std::floor(*v) == *v;
    const bool rating = std::fabs(*v) <= kMaxRating;
    if (!epoch && !rating && example->empty()) *example = std::string(Trim(fields[static_cast<std::size_t>(c)]));
    all_epoch = all_epoch && epoch;
    all_rating = all_rating && rating;
  }
  if (!any) return ValueKind::kNone;
  if (all_epoch) return ValueKind::kTimestamp;
  if (all_rating) return ValueKind::kRating;
  return ValueKind::kNeither;
}

std::string ColumnName(const std::vector<std::string>* names, int c) {
  return names ? fmt::format("column {} \"{}\"", c + 1, (*names)[static_cast<std::size_t>(c)])
               : fmt::format("column {}", c + 1);
}

// Decides the roles of columns 3 and 4 (user and item are the first two).
Status InferRoles(const std::vector<std::string>* names, const ColumnSample& sample,
                  InteractionFormat* f) {
  f->roles.push_back(fmt::format("user: {}, item: {} (the first two columns)", ColumnName(names, 0),
                                 ColumnName(names, 1)));
  std::vector<int> undecided;
  for (int c = 2; c < f->columns; ++c) {
    const std::string_view name = names ? std::string_view((*names)[static_cast<std::size_t>(c)]) : "";
    int* role = names && NamesTimestamp(name) ? &f->timestamp_column
                : names && NamesRating(name)  ? &f->rating_column
                                              : nullptr;
    if (!role) {
      undecided.push_back(c);
      continue;
    }
    const char* what = role == &f->timestamp_column ? "timestamp" : "rating";
    if (*role >= 0) {
      return DataError(fmt::format("{}:1: two {} columns ({} and {}); say which with --columns",
                                   sample.path, what, ColumnName(names, *role), ColumnName(names, c)));
    }
    *role = c;
    f->roles.push_back(fmt::format("{}: {}, by its header name", what, ColumnName(names, c)));
  }
  std::vector<ValueKind> kinds;
  for (int c : undecided) {
    std::string example;
    const ValueKind k = Classify(sample, c, &example);
    if (k == ValueKind::kNeither) {
      return DataError(fmt::format(
          "{}: cannot tell whether {} is a rating or a timestamp: its values (e.g. \"{}\") are "
          "neither ratings (within +-1e6) nor epoch times (integers from 1e8); name the roles with "
          "--columns, e.g. --columns user,item,rating or --columns user,item,timestamp",
          sample.path, ColumnName(names, c), example));
    }
    kinds.push_back(k);
  }
  const auto give = [&](int c, bool timestamp, const std::string& why) -> Status {
    int& slot = timestamp ? f->timestamp_column : f->rating_column;
    const char* what = timestamp ? "timestamp" : "rating";
    if (slot >= 0) {
      return DataError(fmt::format("{}: {} and {} both look like a {} ({}); name the roles with --columns",
                                   sample.path, ColumnName(names, slot), ColumnName(names, c), what, why));
    }
    slot = c;
    f->roles.push_back(fmt::format("{}: {}, {}", what, ColumnName(names, c), why));
    return Status::Ok();
  };
  const std::string epoch = "inferred from its values (integers from 1e8: epoch times)";
  const std::string small = "inferred from its values (within +-1e6)";
  if (undecided.size() == 2 && kinds[0] != ValueKind::kTimestamp && kinds[1] != ValueKind::kTimestamp) {
    // Two rating-like columns: the usual order, user item rating timestamp.
    ECPS_RETURN_IF_ERROR(give(undecided[0], false, "by position (third column; " + small + ")"));
    return give(undecided[1], true, "by position (fourth column; only its order is used)");
  }
  for (std::size_t i = 0; i < undecided.size(); ++i) {
    const bool ts = kinds[i] == ValueKind::kTimestamp;
    const std::string why = kinds[i] == ValueKind::kNone ? "by position (no numbers in the first rows)"
                            : ts                         ? epoch
                                                         : small;
    ECPS_RETURN_IF_ERROR(give(undecided[i], ts, why));
  }
  return Status::Ok();
}

// Whether a first line is a header, given --columns (auto mode).
Result<bool> HeaderByColumns(const std::string& spec, const std::vector<std::string>& fields) {
  bool header = false;
  int c = 0;
  for (std::string_view rest = spec; !rest.empty(); ++c) {
    const auto comma = rest.find(',');
    const std::string_view token = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = token.find('=');
    const std::string_view column = eq == std::string_view::npos ? std::string_view() : Trim(token.substr(eq + 1));
    if (!column.empty() && !std::all_of(column.begin(), column.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      return true;  // a column named: there is a header
    }
    const auto role = RoleNamed(eq == std::string_view::npos ? token : Trim(token.substr(0, eq)));
    std::size_t at = static_cast<std::size_t>(c);
    if (!column.empty()) at = column.size() > 6 ? fields.size() : std::stoul(std::string(column)) - 1;
    if (!role || at >= fields.size()) continue;  // ApplyColumnsOption says what is wrong
    const std::string_view v = fields[at];
    if (*role == RoleSet::kRating || *role == RoleSet::kTimestamp) header = header || !ParseDouble(v);
    if (*role == RoleSet::kUser || *role == RoleSet::kItem) header = header || LooksLikeColumnName(v);
  }
  return header;
}

// Sets the roles from --columns; `names` is the header (null without one).
Status ApplyColumnsOption(const std::string& spec, const std::vector<std::string>* names,
                          const std::string& path, InteractionFormat* f) {
  const auto bad = [&](const std::string& why) {
    return InvalidArgument(fmt::format("--columns {}: {}", spec, why));
  };
  f->user_column = f->item_column = f->rating_column = f->timestamp_column = -1;
  std::vector<std::string_view> tokens;
  for (std::string_view rest = spec;;) {
    const auto comma = rest.find(',');
    tokens.push_back(Trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  const bool pairs = tokens[0].find('=') != std::string_view::npos;
  if (!pairs && tokens.size() != static_cast<std::size_t>(f->columns)) {
    return DataError(fmt::format("{}:1: --columns {} gives {} roles, but the line has {} fields (give "
                                 "one role per column, - for a column to skip, or ROLE=COLUMN pairs)",
                                 path, spec, tokens.size(), f->columns));
  }
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    std::string_view role_text = tokens[t];
    int column = static_cast<int>(t);
    if (pairs) {
      const auto eq = tokens[t].find('=');
      if (eq == std::string_view::npos) return bad(fmt::format("\"{}\" is not ROLE=COLUMN", tokens[t]));
      role_text = Trim(tokens[t].substr(0, eq));
      const std::string col(Trim(tokens[t].substr(eq + 1)));
      if (!col.empty() && std::all_of(col.begin(), col.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
        const long pos = col.size() > 6 ? 0 : std::stol(col);
        if (pos < 1 || pos > f->columns) {
          return DataError(fmt::format("{}:1: --columns {}: position {} is not a column of the file (1 to {}; "
                                       "positions count from 1)", path, spec, col, f->columns));
        }
        column = static_cast<int>(pos - 1);
      } else if (!names) {
        return bad(fmt::format("\"{}\" names a column, but {} has no header (give its position, from 1)", col, path));
      } else {
        const auto it = std::find(names->begin(), names->end(), col);
        if (it == names->end()) {
          std::string list;
          for (const auto& n : *names) list += (list.empty() ? "\"" : ", \"") + n + "\"";
          return DataError(fmt::format("{}:1: --columns {}: no column \"{}\" in the header (columns: {})", path,
                                       spec, col, list));
        }
        column = static_cast<int>(it - names->begin());
      }
    }
    const auto role = RoleNamed(role_text);
    if (!role || (pairs && *role == RoleSet::kSkip)) {
      return bad(fmt::format("unknown role \"{}\" (roles: user, item, rating, timestamp{})", role_text,
                             pairs ? "" : "; - skips a column"));
    }
    int* slot = *role == RoleSet::kUser ? &f->user_column : *role == RoleSet::kItem ? &f->item_column
                : *role == RoleSet::kRating ? &f->rating_column : *role == RoleSet::kTimestamp ? &f->timestamp_column
                                                                : nullptr;
    if (!slot) continue;
    if (*slot >= 0) return bad(fmt::format("role \"{}\" given twice", role_text));
    for (int* other : {&f->user_column, &f->item_column, &f->rating_column, &f->timestamp_column}) {
      if (*other == column) return bad(fmt::format("column {} given two roles", column + 1));
    }
    *slot = column;
  }
  if (f->user_column < 0 || f->item_column < 0) return bad("the user and item roles are required");
  return Status::Ok();
}
}  // namespace

Result<HeaderMode> ParseHeaderMode(std::string_view s) {
  if (s == "auto") return HeaderMode::kAuto;
  if (s == "yes" || s == "true") return HeaderMode::kYes;
  if (s == "no" || s == "false") return HeaderMode::kNo;
  return InvalidArgument(fmt::format("--header must be auto, yes or no, got \"{}\"", s));
}

std::string InteractionFormat::Describe() const {
  const std::string sep = delimiter == ',' ? "comma-separated" : delimiter == '\t' ? "tab-separated"
                          : delimiter == ' ' ? "space-separated"
                                             : fmt::format("\"{}\"-separated", DelimiterName(delimiter));
  return fmt::format("{}, {} columns ({}), {}", sep, columns, ColumnList(), header ? "header" : "no header");
}

std::string InteractionFormat::ColumnList() const {
  std::string cols;
  for (int c = 0; c < columns; ++c) {
    cols += c ? " " : "";
    cols += c == user_column ? "user" : c == item_column ? "item" : c == rating_column ? "rating"
            : c == timestamp_column ? "timestamp" : "-";
  }
  return cols;
}

Result<InteractionFormat> DetectInteractionFormat(const std::string& path, HeaderMode mode) {
  InteractionOptions o;
  o.header = mode;
  return DetectInteractionFormat(path, o);
}

Result<InteractionFormat> DetectInteractionFormat(const std::string& path,
                                                  const InteractionOptions& options) {
  // The separator comes from the first line; the rows are then read as records.
  ECPS_ASSIGN_OR_RETURN(std::vector<std::string> head, ReadFirstLines(path, 1, {}));
  if (Blank(head[0])) {
    return DataError(fmt::format("{}:1: the file is empty or starts with a blank line; expected "
                                 "user item [rating [timestamp]]",
                                 path));
  }
  InteractionFormat f;
  f.delimiter = options.delimiter ? *options.delimiter
                : head[0].find("::") != std::string::npos ? kDoubleColon
                : head[0].find(',') != std::string::npos  ? ','
                : head[0].find('\t') != std::string::npos ? '\t'
                                                          : ' ';
  ECPS_ASSIGN_OR_RETURN(head, ReadFirstLines(path, kSniffRows + 1, Reading(f.delimiter)));
  const std::string& first = head[0];
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  Status s = Split(first, f.delimiter, &fields, &scratch);
  if (!s.ok()) return DataError(fmt::format("{}:1: {}", path, s.message()));
  if (options.columns.empty() && (fields.size() < 2 || fields.size() > 4)) {
    return DataError(fmt::format("{}:1: expected 2 to 4 fields (user item [rating [timestamp]]), "
                                 "found {}; --columns names the roles of more",
                                 path, fields.size()));
  }
  f.columns = static_cast<int>(fields.size());
  std::vector<std::string> names(fields.begin(), fields.end());
  switch (options.header) {
    case HeaderMode::kYes: f.header = true; break;
    case HeaderMode::kNo: f.header = false; break;
    case HeaderMode::kAuto:
      if (options.columns.empty()) {
        f.header = LooksLikeColumnName(fields[0]) || LooksLikeColumnName(fields[1]);
        for (std::size_t c = 2; c < fields.size(); ++c) {
          if (!ParseDouble(fields[c])) f.header = true;
        }
      } else {
        ECPS_ASSIGN_OR_RETURN(f.header, HeaderByColumns(options.columns, names));
      }
      break;
  }
  head.erase(head.begin(), head.begin() + (f.header ? 1 : 0));
  const ColumnSample sample{path, f.delimiter, std::move(head)};
  if (!options.columns.empty()) {
    ECPS_RETURN_IF_ERROR(ApplyColumnsOption(options.columns, f.header ? &names : nullptr, path, &f));
    f.roles.push_back(fmt::format("{} (--columns {})", f.ColumnList(), options.columns));
    return f;
  }
  ECPS_RETURN_IF_ERROR(InferRoles(f.header ? &names : nullptr, sample, &f));
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
    return DataError(fmt::format("expected {} fields ({}), found {}", format.columns, format.ColumnList(),
                                 f.size()));
  }
  const auto user = f[static_cast<std::size_t>(format.user_column)];
  const auto item = f[static_cast<std::size_t>(format.item_column)];
  if (user.empty()) return DataError("empty user id");
  if (item.empty()) return DataError("empty item id");
  row->user = user;
  row->item = item;
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
  ECPS_ASSIGN_OR_RETURN(auto lines, LineReader::Open(range, Reading(format.delimiter)));
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
    if (ParseFast(line, format_, row, &fields_)) return true;
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
