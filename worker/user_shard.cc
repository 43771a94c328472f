#include "worker/user_shard.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

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

void UserTable::Clear() {
  offsets.clear();
  features.clear();
  labels.clear();
  id_bytes.clear();
  id_end.clear();
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
  const std::size_t d = schema.dim();
  const bool has_label = schema.has_label();

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

  std::vector<double> x(d);
  std::string kept_id;  // the id that ShardLoadOptions::ids keeps
  for (const auto& range : ranges) {
    ECPS_ASSIGN_OR_RETURN(auto reader, LineReader::Open(range));
    std::string_view line;
    while (true) {
      ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
      if (!more) break;
      if (reader->offset() == 0) continue;  // the header
      if (Trim(line).empty()) continue;     // blank lines carry no user
      ++report->rows_read;
      std::string_view id;
      int label = 0;
      Status s = parser.Parse(line, &id, x.data(), &label);
      std::string line_id;
      if (s.ok() && schema.line_ids()) {
        line_id = std::to_string(reader->LineNumber());
        id = line_id;
      }
      if (!s.ok()) {
        Status full = s.WithContext(reader->Where());
        if (!options.skip_bad_rows) return full;
        ++report->rows_skipped;
        if (report->skipped_examples.size() < kSkippedExamples) report->skipped_examples.push_back(full.message());
        continue;
      }
      if (options.ids) {
        if (!options.ids->Map(id, &kept_id)) {
          ++report->rows_excluded;
          continue;
        }
        id = kept_id;
      }
      const int owner = plan.UserOwner(id);
      if (owner == worker_index) {
        mine.Append(reader->offset(), id, x.data(), label, has_label);
        continue;
      }
      auto& box = outbox[static_cast<std::size_t>(owner)];
      box.Append(reader->offset(), id, x.data(), label, has_label);
      if (box.size() >= options.batch_rows) {
        ECPS_RETURN_IF_ERROR_CTX(send(owner, false), "forward rows");
        ECPS_RETURN_IF_ERROR_CTX(drain(), "receive forwarded rows");
      }
    }
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
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(mine.size());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    auto [it, fresh] = seen.emplace(mine.id(i), i);
    if (!fresh) {
      auto a = LineNumberAt(path, mine.offsets[it->second]);
      auto b = LineNumberAt(path, mine.offsets[i]);
      return DataError(fmt::format("{}: user id \"{}\" appears on more than one row (lines {} and {})", path,
                                   mine.id(i), a.ok() ? *a : 0, b.ok() ? *b : 0));
    }
  }
  report->users_owned = mine.size();
  return mine;
}

}  // namespace ecps::worker
