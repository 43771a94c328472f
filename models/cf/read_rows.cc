#include "models/cf/read_rows.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <unordered_set>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "worker/interactions.h"

namespace ecps::models::cf {
namespace {

// One piece of a worker's range into `local` (appended to its rows, which are reserved for
// `reserve_bytes` of lines). `ids` (may be null) replaces each user id as it is read and drops
// opted-out users' rows; `progress` gets the bytes of the piece read, every 4096 rows.
Status ReadPiece(const sched::FileRange& range, const Settings& settings, bool skip_bad_rows,
                 const privacy::IdFilter* ids, std::uint64_t reserve_bytes,
                 const std::function<Status(std::uint64_t)>& progress, LocalRows* local) {
  ECPS_ASSIGN_OR_RETURN(auto reader,
                        worker::InteractionReader::Open(range, settings.format, skip_bad_rows));
  Rows& rows = local->rows;
  // A line has at least 4 bytes ("u i\n"): reserving for that never reallocates, and the
  // pages never written cost no memory.
  const std::size_t guess = static_cast<std::size_t>(reserve_bytes / 4 + 16);
  rows.Reserve(rows.size() + guess, settings.explicit_ratings, settings.format.has_timestamp());
  worker::InteractionRow row;
  // The last raw user id and what ids made of it: files often hold a user's rows together.
  std::string last_raw, kept_id;
  bool have_last = false, keep = true;
  std::unordered_set<std::string> excluded;
  for (std::uint64_t n = 1;; ++n) {
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&row));
    if (!more) break;
    if (n % 4096 == 0) ECPS_RETURN_IF_ERROR(progress(reader->offset() - range.begin));
    if (ids) {
      if (!have_last || row.user != last_raw) {
        last_raw.assign(row.user);
        keep = ids->Map(row.user, &kept_id);
        have_last = true;
        if (!keep) excluded.insert(kept_id);
      }
      if (!keep) {
        ++local->report.excluded;
        continue;
      }
      row.user = kept_id;
    }
    const std::uint32_t user = local->users.Intern(row.user);
    // A private run: items outside the catalogue are dropped (their users still count).
    if (settings.catalogue && !settings.catalogue->set.contains(std::string(row.item))) continue;
    rows.user.push_back(user);
    rows.item.push_back(local->items.Intern(row.item));
    if (settings.explicit_ratings) rows.value.push_back(static_cast<float>(row.rating));
    if (settings.format.has_timestamp()) rows.ts.push_back(row.timestamp);
  }
  local->report.excluded_users.assign(excluded.begin(), excluded.end());
  local->report.skipped += reader->skipped();
  for (const auto& e : reader->skipped_examples()) {
    if (local->report.examples.size() < worker::InteractionReader::kMaxExamples)
      local->report.examples.push_back(e);
  }
  return Status::Ok();
}

// Appends `part` (the piece after those in `*local`) to `*local`: its ids interned, its rows
// translated, its counts and examples added.
void AppendPiece(LocalRows&& part, LocalRows* local) {
  std::vector<std::uint32_t> user(part.users.size()), item(part.items.size());
  for (std::size_t l = 0; l < user.size(); ++l) user[l] = local->users.Intern(part.users.ids()[l]);
  for (std::size_t l = 0; l < item.size(); ++l) item[l] = local->items.Intern(part.items.ids()[l]);
  Rows& rows = local->rows;
  for (auto u : part.rows.user) rows.user.push_back(user[u]);
  for (auto i : part.rows.item) rows.item.push_back(item[i]);
  rows.value.insert(rows.value.end(), part.rows.value.begin(), part.rows.value.end());
  rows.ts.insert(rows.ts.end(), part.rows.ts.begin(), part.rows.ts.end());
  IdReport& report = local->report;
  report.skipped += part.report.skipped;
  report.excluded += part.report.excluded;
  report.excluded_users.insert(report.excluded_users.end(), part.report.excluded_users.begin(),
                               part.report.excluded_users.end());
  for (auto& e : part.report.examples) {
    if (report.examples.size() < worker::InteractionReader::kMaxExamples)
      report.examples.push_back(std::move(e));
  }
  part = LocalRows{};
}

}  // namespace

Status ReadInteractions(const sched::FileRange& range, const Settings& settings, bool skip_bad_rows,
                        const privacy::IdFilter* ids, ProgressSender* progress, LocalRows* local) {
  constexpr std::uint64_t kPieceBytes = std::uint64_t{8} << 20;
  const std::uint64_t bytes = range.end - range.begin;
  const auto threads = static_cast<std::uint64_t>(tbb::this_task_arena::max_concurrency());
  const std::size_t pieces =
      ids != nullptr ? 1 : static_cast<std::size_t>(std::clamp<std::uint64_t>(
                               bytes / kPieceBytes, 1, std::max<std::uint64_t>(threads, 1)));
  std::vector<std::atomic<std::uint64_t>> done(pieces);
  for (auto& d : done) d = 0;
  // The first piece reports the pieces' total; the others count theirs.
  auto count = [&](std::size_t p) {
    return [&, p](std::uint64_t piece_done) -> Status {
      done[p] = piece_done;
      if (p != 0) return Status::Ok();
      std::uint64_t total = 0;
      for (const auto& d : done) total += d;
      return progress->Update(total);
    };
  };
  std::vector<LocalRows> parts(pieces - 1);
  std::vector<Status> status(pieces);
  auto read = [&](std::size_t p) {
    sched::FileRange piece = range;
    piece.begin = range.begin + bytes * p / pieces;
    piece.end = range.begin + bytes * (p + 1) / pieces;
    // The first piece's rows are reserved for the whole range: the others join them.
    const std::uint64_t reserve = p == 0 ? bytes : piece.end - piece.begin;
    status[p] = ReadPiece(piece, settings, skip_bad_rows, ids, reserve, count(p),
                          p == 0 ? local : &parts[p - 1]);
  };
  if (pieces == 1) {
    read(0);
  } else {
    tbb::parallel_for(std::size_t{0}, pieces, read);
  }
  for (const Status& s : status) ECPS_RETURN_IF_ERROR(s);
  for (auto& part : parts) AppendPiece(std::move(part), local);
  return progress->Finish(bytes);
}

}  // namespace ecps::models::cf
