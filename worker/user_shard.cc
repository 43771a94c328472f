#include "worker/user_shard.h"

#include <algorithm>
#include <bit>
#include <numeric>
#include <functional>

#include <fmt/format.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "ps/message.h"
#include "worker/line_reader.h"

namespace ecps::worker {
namespace {

constexpr std::size_t kSkippedExamples = 5;

// One forwarded batch; `last` marks the sender's final batch to this receiver.
struct RowBatch {
  bool last = false;
  UserTable rows;
  template <class A>
  void serialize(A& ar) { ar(last, rows); }
};

}  // namespace

void UserTable::Append(std::uint64_t offset, std::string_view id, const double* x, int label, bool has_label) {
  offsets.push_back(offset);
  features.insert(features.end(), x, x + dim);
  if (has_label) labels.push_back(static_cast<std::int8_t>(label));
  id_bytes.append(id);
  id_end.push_back(id_bytes.size());
}

void UserTable::AppendFrom(const UserTable& other, std::size_t i) {
  const double* x = other.features.data() + i * dim;
  Append(other.offsets[i], other.id(i), x, other.labels.empty() ? 0 : other.labels[i], !other.labels.empty());
}

void UserTable::SortByOffset() {
  if (std::is_sorted(offsets.begin(), offsets.end())) return;
  std::vector<std::size_t> perm(size());
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b) { return offsets[a] < offsets[b]; });
  UserTable sorted;
  sorted.dim = dim;
  sorted.offsets.reserve(size());
  sorted.features.reserve(features.size());
  sorted.id_bytes.reserve(id_bytes.size());
  sorted.id_end.reserve(size());
  for (std::size_t i : perm) sorted.AppendFrom(*this, i);
  *this = std::move(sorted);
}

void UserTable::Reserve(std::size_t rows) {
  offsets.reserve(rows);
  features.reserve(rows * dim);
  id_end.reserve(rows);
  if (id_bytes.capacity() < rows * 8) id_bytes.reserve(rows * 8);
}

void UserTable::AppendAll(UserTable&& other) {
  if (size() == 0 && offsets.capacity() < other.size()) {
    *this = std::move(other);
    return;
  }
  offsets.insert(offsets.end(), other.offsets.begin(), other.offsets.end());
  features.insert(features.end(), other.features.begin(), other.features.end());
  labels.insert(labels.end(), other.labels.begin(), other.labels.end());
  const std::uint64_t shift = id_bytes.size();
  id_bytes.append(other.id_bytes);
  for (std::uint64_t e : other.id_end) id_end.push_back(shift + e);
  other = UserTable{};
}

void UserTable::Clear() {
  offsets.clear();
  features.clear();
  labels.clear();
  id_bytes.clear();
  id_end.clear();
}

namespace {

// One piece of a worker's ranges, parsed on its own (in parallel with the others).
struct Piece {
  sched::FileRange range;
  std::size_t range_index = 0;
  UserTable rows;                        // ids mapped, except with line ids (set when delivered)
  std::vector<std::uint64_t> rel_lines;  // line ids: line of each row counted from the piece's first record
  std::uint64_t first_offset = UINT64_MAX;  // offset of the piece's first record
  std::uint64_t newlines = 0;               // line ids: line breaks in the piece's records
  LoadReport report;
  Status error;
};

Result<std::vector<Piece>> CutPieces(const std::vector<sched::FileRange>& ranges, const FeatureSchema& schema) {
  constexpr std::uint64_t kPieceBytes = 4u << 20;
  std::vector<Piece> pieces;
  for (std::size_t r = 0; r < ranges.size(); ++r) {
    ECPS_ASSIGN_OR_RETURN(auto cut, CutIntoPieces(ranges[r], kPieceBytes, schema.records()));
    for (auto& c : cut) {
      pieces.emplace_back();
      pieces.back().range = std::move(c);
      pieces.back().range_index = r;
    }
  }
  return pieces;
}

// Parses `piece` into `rows` (piece->rows, or with one thread and no line ids the caller's
// table directly: the rows need no copy).
void ParsePiece(FeatureRowParser parser, const FeatureSchema& schema, const ShardLoadOptions& options,
                Piece* piece, UserTable& rows) {
  ReadOptions ro = schema.records();
  ro.begin_is_record = true;
  auto opened = LineReader::Open(piece->range, ro);
  if (!opened.ok()) {
    piece->error = opened.status();
    return;
  }
  LineReader& reader = **opened;
  const std::size_t d = schema.dim();
  const bool has_label = schema.has_label(), line_ids = schema.line_ids();
  rows.dim = d;
  const std::size_t rows_before = rows.size();
  std::vector<double> x(d);
  std::string kept_id;
  std::string_view line;
  for (std::uint64_t n = 0;; ++n) {
    if (n == 64 && rows_before == 0 && rows.size() > 0) {  // reserve from the piece's first rows
      const std::uint64_t per_row = std::max<std::uint64_t>(1, (reader.offset() - piece->range.begin) / rows.size());
      const std::uint64_t bytes = std::min<std::uint64_t>(piece->range.end - piece->range.begin, 64u << 20);
      const std::size_t guess = static_cast<std::size_t>(bytes / per_row + bytes / per_row / 4 + 16);
      rows.Reserve(guess);
    }
    auto more = reader.Next(&line);
    if (!more.ok() || !*more) {
      if (!more.ok()) piece->error = more.status();
      return;
    }
    const std::uint64_t rel = piece->newlines + 1;
    if (line_ids) piece->newlines += 1 + static_cast<std::uint64_t>(std::count(line.begin(), line.end(), '\n'));
    if (piece->first_offset == UINT64_MAX) piece->first_offset = reader.offset();
    if (reader.offset() == 0) continue;  // the header
    if (Trim(line).empty()) continue;    // blank lines carry no user
    ++piece->report.rows_read;
    std::string_view id;
    int label = 0;
    Status s = parser.Parse(line, &id, x.data(), &label);
    if (!s.ok()) {
      Status full = s.WithContext(reader.Where());
      if (!options.skip_bad_rows) {
        piece->error = full;
        return;
      }
      ++piece->report.rows_skipped;
      if (piece->report.skipped_examples.size() < kSkippedExamples) {
        piece->report.skipped_examples.push_back(full.message());
      }
      continue;
    }
    if (options.ids && !line_ids) {
      if (!options.ids->Map(id, &kept_id)) {
        ++piece->report.rows_excluded;
        continue;
      }
      id = kept_id;
    }
    if (line_ids) piece->rel_lines.push_back(rel);
    rows.Append(reader.offset(), id, x.data(), label, has_label);
  }
}

// Parses pieces [begin, end) in parallel (in the caller's oneTBB arena).
void ParsePieces(std::vector<Piece>* pieces, std::size_t begin, std::size_t end, const FeatureRowParser& parser,
                 const FeatureSchema& schema, const ShardLoadOptions& options) {
  tbb::parallel_for(begin, end, [&](std::size_t i) {
    ParsePiece(parser, schema, options, &(*pieces)[i], (*pieces)[i].rows);
  });
}

// Takes a parsed piece's report (its error, in file order, fails) and, for line ids, sets
// *base to the line breaks before its first record (`next_line` carries them across pieces).
Status TakeReport(Piece& piece, const FeatureSchema& schema, std::vector<std::uint64_t>* next_line,
                  LoadReport* report, std::uint64_t* base) {
  if (!piece.error.ok()) return piece.error;
  report->rows_read += piece.report.rows_read;
  report->rows_skipped += piece.report.rows_skipped;
  report->rows_excluded += piece.report.rows_excluded;
  for (auto& m : piece.report.skipped_examples) {
    if (report->skipped_examples.size() < kSkippedExamples) report->skipped_examples.push_back(std::move(m));
  }
  *base = 0;
  if (schema.line_ids() && piece.first_offset != UINT64_MAX) {
    std::uint64_t& next = (*next_line)[piece.range_index];
    if (next == 0) {
      ECPS_ASSIGN_OR_RETURN(next, LineNumberAt(piece.range.path, piece.first_offset));
    }
    *base = next - 1;
    next += piece.newlines;
  }
  return Status::Ok();
}

// Hands the rows of a parsed piece to `take(rows, i, id)` in input order (line ids made and
// options.ids applied to them here), then frees them.
template <class Take>
Status ForEachRow(Piece& piece, const FeatureSchema& schema, const ShardLoadOptions& options, std::uint64_t base,
                  LoadReport* report, Take take) {
  std::string line_id, kept_id;
  for (std::size_t i = 0; i < piece.rows.size(); ++i) {
    std::string_view id = piece.rows.id(i);
    if (schema.line_ids()) {
      line_id = std::to_string(base + piece.rel_lines[i]);
      id = line_id;
      if (options.ids) {
        if (!options.ids->Map(id, &kept_id)) {
          ++report->rows_excluded;
          continue;
        }
        id = kept_id;
      }
    }
    ECPS_RETURN_IF_ERROR(take(piece.rows, i, id));
  }
  piece.rows = UserTable{};
  return Status::Ok();
}

// The first row `again` (in table order) whose id an earlier row has, and the first row with
// that id; false when the ids are unique. Rows with equal ids have equal hashes, so a bitmap
// over the hashes' top bits (16 bits a row) marked twice finds every candidate (about one row
// in 16 by chance); only the candidates' (hash, row) pairs are sorted and compared. A hash
// table or a sort of a million ids costs a cache miss or a comparison chain per row.
bool FirstRepeatedId(const UserTable& t, std::size_t* first, std::size_t* again) {
  const std::size_t n = t.size();
  std::vector<std::uint64_t> hashes(n);
  const std::hash<std::string_view> hash;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1 << 16), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) hashes[i] = hash(t.id(i));
  });
  const int bits = std::clamp(static_cast<int>(std::bit_width(n)) + 4, 10, 34);
  std::vector<std::uint64_t> once(std::size_t{1} << (bits - 6)), twice(once.size());
  const auto slot = [bits](std::uint64_t h) { return h >> (64 - bits); };
  for (std::uint64_t h : hashes) {
    const std::uint64_t b = slot(h), m = std::uint64_t{1} << (b & 63);
    std::uint64_t& o = once[b >> 6];
    if (o & m) twice[b >> 6] |= m;
    o |= m;
  }
  std::vector<std::pair<std::uint64_t, std::size_t>> h;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t b = slot(hashes[i]);
    if (twice[b >> 6] >> (b & 63) & 1) h.emplace_back(hashes[i], i);
  }
  std::sort(h.begin(), h.end());
  bool found = false;
  for (std::size_t a = 0, b = 0; a < h.size(); a = b) {
    for (b = a + 1; b < h.size() && h[b].first == h[a].first; ++b) {
    }
    // Rows of one hash, ascending: the first row with an equal id before it is its first one.
    bool done = false;
    for (std::size_t x = a + 1; x < b && !done; ++x) {
      for (std::size_t y = a; y < x && !done; ++y) {
        if (t.id(h[y].second) != t.id(h[x].second)) continue;
        if (!found || h[x].second < *again) {
          *first = h[y].second;
          *again = h[x].second;
        }
        found = done = true;
      }
    }
  }
  return found;
}

// Rows of all the pieces, extrapolated from those of the parsed pieces [0, parsed).
std::size_t ExpectedRows(const std::vector<Piece>& pieces, std::size_t parsed) {
  std::uint64_t rows = 0, bytes = 0, total = 0;
  for (std::size_t p = 0; p < parsed; ++p) rows += pieces[p].rows.size();
  for (const auto& p : pieces) total += p.range.end - p.range.begin;
  for (std::size_t p = 0; p < parsed; ++p) bytes += pieces[p].range.end - pieces[p].range.begin;
  return static_cast<std::size_t>(rows * total / std::max<std::uint64_t>(bytes, 1));
}

// Pieces parsed at a time: enough to keep the arena's threads busy, few enough to bound memory.
std::size_t GroupSize() {
  return 2 * static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
}

}  // namespace

Result<UserTable> ParseUserRows(const std::vector<sched::FileRange>& ranges, const FeatureSchema& schema,
                                const ShardLoadOptions& options, LoadReport* report) {
  UserTable all;
  all.dim = schema.dim();
  if (ranges.empty()) return all;
  ECPS_ASSIGN_OR_RETURN(auto parser, FeatureRowParser::Open(schema, ranges.front().path));
  parser.set_missing_as_nan(options.missing_as_nan);
  ECPS_ASSIGN_OR_RETURN(auto pieces, CutPieces(ranges, schema));
  std::vector<std::uint64_t> next_line(ranges.size(), 0);
  if (!schema.line_ids() && tbb::this_task_arena::max_concurrency() == 1) {  // no copies
    std::uint64_t total = 0;
    for (const auto& p : pieces) total += p.range.end - p.range.begin;
    for (std::size_t p = 0; p < pieces.size(); ++p) {
      ParsePiece(parser, schema, options, &pieces[p], all);
      std::uint64_t base = 0;
      ECPS_RETURN_IF_ERROR(TakeReport(pieces[p], schema, &next_line, report, &base));
      if (p == 0) {  // reserve for every row, from the first piece's
        const std::uint64_t bytes =
            std::max<std::uint64_t>(1, pieces[0].range.end - pieces[0].range.begin);
        all.Reserve(static_cast<std::size_t>(all.size() * total / bytes * 9 / 8 + 16));
      }
    }
    return all;
  }
  const std::size_t group = GroupSize();
  for (std::size_t g = 0; g < pieces.size(); g += group) {
    const std::size_t end = std::min(pieces.size(), g + group);
    ParsePieces(&pieces, g, end, parser, schema, options);
    if (g == 0 && end < pieces.size()) all.Reserve(ExpectedRows(pieces, end) * 9 / 8 + 16);
    for (std::size_t p = g; p < end; ++p) {
      std::uint64_t base = 0;
      ECPS_RETURN_IF_ERROR(TakeReport(pieces[p], schema, &next_line, report, &base));
      if (!schema.line_ids()) {
        all.AppendAll(std::move(pieces[p].rows));
        continue;
      }
      ECPS_RETURN_IF_ERROR(ForEachRow(pieces[p], schema, options, base, report,
                                      [&](const UserTable& t, std::size_t i, std::string_view id) {
                                        all.Append(t.offsets[i], id, t.features.data() + i * t.dim,
                                                   t.labels.empty() ? 0 : t.labels[i], !t.labels.empty());
                                        return Status::Ok();
                                      }));
    }
  }
  return all;
}

Result<UserTable> LoadUserShard(ps::Node& node, const sched::ShardPlan& plan, int worker_index,
                                const FeatureSchema& schema, const ShardLoadOptions& options,
                                LoadReport* report) {
  const int W = plan.num_workers;
  const auto& ranges = plan.file_ranges.at(static_cast<std::size_t>(worker_index));
  if (ranges.empty()) return InvalidArgument("the shard plan gives this worker no input");
  const std::string path = ranges.front().path;
  for (const auto& r : ranges) {
    if (r.path != path) return InvalidArgument("user shards are read from a single file");
  }
  ECPS_ASSIGN_OR_RETURN(auto parser, FeatureRowParser::Open(schema, path));
  parser.set_missing_as_nan(options.missing_as_nan);
  ECPS_ASSIGN_OR_RETURN(auto pieces, CutPieces(ranges, schema));
  const std::size_t d = schema.dim();

  UserTable mine;
  mine.dim = d;
  std::vector<UserTable> outbox(static_cast<std::size_t>(W));
  for (auto& o : outbox) o.dim = d;
  int peers_done = 0;

  auto send = [&](int v, bool last) -> Status {
    RowBatch b;
    b.last = last;
    b.rows = std::move(outbox[static_cast<std::size_t>(v)]);
    report->rows_forwarded += b.rows.size();
    outbox[static_cast<std::size_t>(v)] = UserTable{};
    outbox[static_cast<std::size_t>(v)].dim = d;
    return node.SendControl(node.roles().WorkerRank(v), options.topic, ps::EncodeControl(b));
  };
  auto absorb = [&](const ps::Message& m) -> Status {
    RowBatch b;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &b));
    if (b.rows.dim != d) return Internal("forwarded rows have another feature dimension");
    for (std::size_t i = 0; i < b.rows.size(); ++i) mine.AppendFrom(b.rows, i);
    if (b.last) ++peers_done;
    return Status::Ok();
  };
  // Takes in whatever has arrived, so that incoming batches do not pile up while reading.
  auto drain = [&]() -> Status {
    while (true) {
      auto m = node.RecvControl(options.topic, -1, ps::SteadyClock::now());
      if (!m.ok()) return m.status().code() == StatusCode::kTimeout ? Status::Ok() : m.status();
      ECPS_RETURN_IF_ERROR(absorb(*m));
    }
  };
  auto route = [&](const UserTable& t, std::size_t i, std::string_view id) -> Status {
    const double* x = t.features.data() + i * d;
    const int label = t.labels.empty() ? 0 : t.labels[i];
    const int owner = plan.UserOwner(id);
    if (owner == worker_index) {
      mine.Append(t.offsets[i], id, x, label, !t.labels.empty());
      return Status::Ok();
    }
    auto& box = outbox[static_cast<std::size_t>(owner)];
    box.Append(t.offsets[i], id, x, label, !t.labels.empty());
    if (box.size() >= options.batch_rows) {
      ECPS_RETURN_IF_ERROR_CTX(send(owner, false), "forward rows");
      ECPS_RETURN_IF_ERROR_CTX(drain(), "receive forwarded rows");
    }
    return Status::Ok();
  };

  std::vector<std::uint64_t> next_line(ranges.size(), 0);
  const std::size_t group = GroupSize();
  for (std::size_t g = 0; g < pieces.size(); g += group) {
    const std::size_t end = std::min(pieces.size(), g + group);
    ParsePieces(&pieces, g, end, parser, schema, options);
    if (g == 0) mine.Reserve(ExpectedRows(pieces, end) / static_cast<std::size_t>(W) * 9 / 8 + 16);
    for (std::size_t p = g; p < end; ++p) {
      std::uint64_t base = 0;
      ECPS_RETURN_IF_ERROR(TakeReport(pieces[p], schema, &next_line, report, &base));
      ECPS_RETURN_IF_ERROR(ForEachRow(pieces[p], schema, options, base, report, route));
    }
    ECPS_RETURN_IF_ERROR_CTX(drain(), "receive forwarded rows");
  }
  for (int v = 0; v < W; ++v) {
    if (v != worker_index) ECPS_RETURN_IF_ERROR_CTX(send(v, true), "forward rows");
  }
  while (peers_done < W - 1) {
    auto m = node.RecvControl(options.topic, -1, node.DefaultDeadline());
    if (!m.ok()) return m.status().WithContext("receive forwarded rows");
    ECPS_RETURN_IF_ERROR(absorb(*m));
  }
  mine.SortByOffset();

  // A user on two rows would be two points of one user: refuse, naming both lines.
  std::size_t first = 0, again = 0;
  if (FirstRepeatedId(mine, &first, &again)) {
    auto a = LineNumberAt(path, mine.offsets[first]);
    auto b = LineNumberAt(path, mine.offsets[again]);
    return DataError(fmt::format(
        "{}: user id \"{}\" appears on more than one row (lines {} and {})", path, mine.id(again),
        a.ok() ? *a : 0, b.ok() ? *b : 0));
  }
  report->users_owned = mine.size();
  return mine;
}

}  // namespace ecps::worker
