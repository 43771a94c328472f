#include "ps/kv_client.h"

#include <cstring>

#include <fmt/format.h>

namespace ecps::ps {

KVClient::KVClient(Node& node, const std::vector<TableSpec>& tables) : node_(node) {
  for (const auto& t : tables) {
    specs_[t.id] = t;
    parts_.emplace(t.id, RangePartition(t.num_keys, node.roles().num_servers()));
  }
  node_.SetHandler(Service::kClient, [this](Message&& m) { OnReply(std::move(m)); });
  node_.AddAbortListener([this] {
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  });
}

const TableSpec& KVClient::spec(TableId id) const { return specs_.at(id); }

Handle KVClient::Failed(Status why) {
  std::lock_guard lock(mu_);
  Handle h = next_++;
  pending_[h].status = std::move(why);
  return h;
}

Handle KVClient::Request(MsgType type, TableId table, ValueType vt, std::span<const Key> keys,
                         Key begin, Key end, void* values, std::size_t num_values) {
  const char* verb = type == MsgType::kPush ? "push" : "pull";
  auto it = specs_.find(table);
  if (it == specs_.end()) return Failed(InvalidArgument(fmt::format("{}: no table {}", verb, table)));
  const TableSpec& spec = it->second;
  auto where = [&] { return fmt::format("{} table {}", verb, spec.name); };
  if (vt != spec.type) return Failed(InvalidArgument(where() + ": value type differs from the table's"));
  const bool dense = keys.empty() && end != begin;
  const std::size_t rows = dense ? static_cast<std::size_t>(end - begin) : keys.size();
  if (dense && (begin > end || end > spec.num_keys)) {
    return Failed(InvalidArgument(fmt::format("{}: range [{}, {}) outside [0, {})", where(), begin, end, spec.num_keys)));
  }
  if (!dense && !SortedUnique(keys)) return Failed(InvalidArgument(where() + ": keys are not sorted and unique"));
  if (!dense && !keys.empty() && keys.back() >= spec.num_keys) {
    return Failed(InvalidArgument(fmt::format("{}: key {} >= num_keys {}", where(), keys.back(), spec.num_keys)));
  }
  if (num_values != rows * spec.width) {
    return Failed(InvalidArgument(fmt::format("{}: {} values for {} rows of width {}", where(),
                                              num_values, rows, spec.width)));
  }

  const RangePartition& part = parts_.at(table);
  const int S = part.num_servers();
  const std::size_t row_bytes = spec.row_bytes();
  // Row boundaries per server: from the sorted keys, or by clipping the dense range.
  std::vector<std::size_t> b(static_cast<std::size_t>(S) + 1, 0);
  if (dense) {
    for (int s = 0; s <= S; ++s) {
      Key k = s == S ? end : std::clamp(part.RangeOf(s).begin, begin, end);
      b[static_cast<std::size_t>(s)] = static_cast<std::size_t>(k - begin);
    }
    b[0] = 0;
  } else {
    b = part.Split(keys);
  }

  Handle h;
  {
    std::lock_guard lock(mu_);
    h = next_++;
    Pending& p = pending_[h];
    p.out = type == MsgType::kPull ? static_cast<std::byte*>(values) : nullptr;
    p.out_offset.assign(static_cast<std::size_t>(S), 0);
    p.out_bytes.assign(static_cast<std::size_t>(S), 0);
    for (int s = 0; s < S; ++s) {
      auto su = static_cast<std::size_t>(s);
      if (b[su + 1] > b[su]) {
        ++p.remaining;
        p.out_offset[su] = b[su] * row_bytes;
        p.out_bytes[su] = (b[su + 1] - b[su]) * row_bytes;
      }
    }
  }
  for (int s = 0; s < S; ++s) {
    auto su = static_cast<std::size_t>(s);
    const std::size_t lo = b[su], hi = b[su + 1];
    if (hi == lo) continue;
    Message m;
    m.head.type = type;
    m.head.receiver = node_.roles().ServerRank(s);
    m.head.table = table;
    m.head.clock = clock_.load();
    m.head.request = h;
    if (dense) {
      m.head.range_begin = begin + lo;
      m.head.range_end = begin + hi;
    } else if (keys[hi - 1] - keys[lo] == hi - lo - 1) {
      // Sorted unique keys without a gap are a range: sent as one, without the key list.
      m.head.range_begin = keys[lo];
      m.head.range_end = keys[hi - 1] + 1;
    } else {
      m.keys = Blob::Borrow(keys.data() + lo, (hi - lo) * sizeof(Key));
    }
    if (type == MsgType::kPush) {
      m.values = Blob::Borrow(static_cast<const std::byte*>(values) + lo * row_bytes, (hi - lo) * row_bytes);
    }
    Status st = node_.Send(std::move(m));
    if (!st.ok()) {
      std::lock_guard lock(mu_);
      Pending& p = pending_[h];
      if (p.status.ok()) p.status = st.WithContext(fmt::format("{} to server {}", where(), s));
      --p.remaining;
    }
  }
  return h;
}

void KVClient::OnReply(Message&& m) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(m.head.request);
  if (it == pending_.end()) return;  // the waiter gave up (deadline): drop the late reply
  Pending& p = it->second;
  const int s = node_.roles().IndexOf(m.head.sender);
  if (m.head.type == MsgType::kRequestFailed) {
    Status why = DecodeStatus(m.control, Internal("request refused (reason unreadable)"));
    if (m.head.flags & kFlagJobAborted) {
      // The job's root cause, already naming the rank that failed: kept as it is.
      if (p.job_abort.ok()) p.job_abort = std::move(why);
    } else if (p.status.ok()) {
      auto spec = specs_.find(m.head.table);
      p.status = why.WithContext(fmt::format(
          "table {}: {}", spec == specs_.end() ? std::to_string(m.head.table) : spec->second.name,
          node_.roles().Describe(m.head.sender)));
    }
  } else if (m.head.type == MsgType::kPullReply) {
    auto su = static_cast<std::size_t>(s);
    if (m.values.size() != p.out_bytes[su]) {
      if (p.status.ok()) {
        p.status = Internal(fmt::format("pull reply from {} has {} bytes, expected {}",
                                        node_.roles().Describe(m.head.sender), m.values.size(),
                                        p.out_bytes[su]));
      }
    } else if (m.values.size()) {
      std::memcpy(p.out + p.out_offset[su], m.values.data(), m.values.size());
    }
  }
  if (--p.remaining <= 0) cv_.notify_all();
}

Status KVClient::Wait(Handle h, Deadline deadline) {
  std::unique_lock lock(mu_);
  auto it = pending_.find(h);
  if (it == pending_.end()) return InvalidArgument(fmt::format("wait: unknown handle {}", h));
  cv_.wait_until(lock, deadline, [&] { return it->second.remaining <= 0 || node_.aborted(); });
  if (it->second.remaining > 0) {
    // The request failed while servers may still hold it, and it borrows the caller's buffers.
    // Abort the job (servers then refuse queued requests without reading them) and give the
    // servers a moment to answer, so that the caller can free its buffers when we return.
    Status why = node_.aborted() ? node_.abort_status()
                                 : Timeout(fmt::format("request {} not answered before the deadline", h));
    if (!node_.aborted()) {
      lock.unlock();
      (void)node_.Abort(why.WithContext(node_.roles().Describe(node_.rank())));
      lock.lock();
    }
    cv_.wait_until(lock, DeadlineIn(kAbandonGraceSeconds), [&] { return it->second.remaining <= 0; });
    pending_.erase(it);
    return why;
  }
  Status s = std::move(it->second.status);
  Status job_abort = std::move(it->second.job_abort);
  pending_.erase(it);
  lock.unlock();
  // A server's refusal may be the first news of the abort here: record it as this rank's
  // abort (and tell the scheduler), so that this rank reports the root cause with its code.
  if (!job_abort.ok()) return node_.Abort(job_abort);
  return s;
}

Status KVClient::WaitAll(std::span<const std::pair<Handle, const char*>> requests, Deadline deadline,
                         Status first) {
  for (const auto& [h, what] : requests) {
    if (h == 0) continue;
    Status s = Wait(h, deadline);
    if (first.ok() && !s.ok()) first = s.WithContext(what);
  }
  return first;
}

Status KVClient::Clock() {
  const ps::Clock now = ++clock_;
  for (int s = 0; s < node_.roles().num_servers(); ++s) {
    Message m;
    m.head.type = MsgType::kClock;
    m.head.receiver = node_.roles().ServerRank(s);
    m.head.clock = now;
    ECPS_RETURN_IF_ERROR_CTX(node_.Send(std::move(m)), fmt::format("clock {} to server {}", now, s));
  }
  return Status::Ok();
}

}  // namespace ecps::ps
