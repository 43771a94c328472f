#include "ps/kv_server.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace ecps::ps {

KVServer::KVServer(Node& node, Consistency consistency)
    : node_(node),
      consistency_(consistency),
      worker_clock_(static_cast<std::size_t>(node.roles().num_workers()), 0) {
  node_.SetHandler(Service::kServer, [this](Message&& m) { Handle(std::move(m)); });
}

KVServer::~KVServer() = default;

Status KVServer::AddTableImpl(std::unique_ptr<ServerTable> table) {
  TableId id = table->spec().id;
  if (tables_.count(id)) {
    return InvalidArgument(fmt::format("table id {} ({}) added twice", id, table->spec().name));
  }
  tables_[id] = std::move(table);
  return Status::Ok();
}

KeyRange KVServer::RangeOf(TableId id) const {
  auto it = tables_.find(id);
  return it == tables_.end() ? KeyRange{} : it->second->range();
}

void KVServer::Handle(Message&& m) {
  // Once the job is aborted, a request's borrowed buffers may already be gone on the worker's
  // side: refuse it without reading them, with the job's reason (marked as such: the worker
  // may hear it from this reply before the scheduler's abort reaches it).
  if (node_.aborted() && (m.head.type == MsgType::kPush || m.head.type == MsgType::kPull)) {
    return Fail(m, node_.abort_status(), kFlagJobAborted);
  }
  switch (m.head.type) {
    case MsgType::kClock:
      HandleClock(m);
      return;
    case MsgType::kPush: {
      auto it = tables_.find(m.head.table);
      if (it == tables_.end()) return Fail(m, NotFound(fmt::format("no table {} on this server", m.head.table)));
      Status s = it->second->Push(m);
      if (!s.ok()) return Fail(m, s);
      Reply(m, MsgType::kPushAck, {});
      return;
    }
    case MsgType::kPull:
      if (!tables_.count(m.head.table)) {
        return Fail(m, NotFound(fmt::format("no table {} on this server", m.head.table)));
      }
      if (PullReady(m)) {
        AnswerPull(m);
      } else {
        waiting_pulls_.push_back(std::move(m));
      }
      return;
    default:
      node_.log().warn("server: unexpected {} message from {}", MsgTypeName(m.head.type),
                       node_.roles().Describe(m.head.sender));
  }
}

bool KVServer::PullReady(const Message& m) const {
  const int s = consistency_.Bound();
  if (s < 0) return true;  // ASP
  // A worker at clock c must see every update from clocks <= c-s-1: every worker must have
  // finished clocks 0..c-s-1, i.e. min_clock >= c-s.
  return min_clock_ >= m.head.clock - s;
}

void KVServer::AnswerPull(const Message& m) {
  auto got = tables_.at(m.head.table)->Pull(m);
  if (!got.ok()) return Fail(m, got.status());
  Reply(m, MsgType::kPullReply, std::move(got).value());
}

void KVServer::HandleClock(const Message& m) {
  const int w = node_.roles().IndexOf(m.head.sender);
  if (w < 0 || node_.roles().RoleOf(m.head.sender) != Role::kWorker) return;
  auto& c = worker_clock_[static_cast<std::size_t>(w)];
  c = std::max(c, m.head.clock);
  const Clock new_min = *std::min_element(worker_clock_.begin(), worker_clock_.end());
  // Every worker has finished clocks < new_min: finalize them in order, then release pulls.
  while (min_clock_ < new_min) {
    for (auto& [id, table] : tables_) table->FinalizeClock(min_clock_);
    ++min_clock_;
  }
  auto ready = std::stable_partition(waiting_pulls_.begin(), waiting_pulls_.end(),
                                     [this](const Message& p) { return !PullReady(p); });
  std::vector<Message> answer(std::make_move_iterator(ready), std::make_move_iterator(waiting_pulls_.end()));
  waiting_pulls_.erase(ready, waiting_pulls_.end());
  for (const auto& p : answer) AnswerPull(p);
}

Status KVServer::WaitForClock(Clock clock, Deadline deadline) const {
  while (min_clock_.load() < clock) {
    if (node_.aborted()) return node_.abort_status();
    if (SteadyClock::now() >= deadline) {
      return Timeout(fmt::format("server {}: workers did not finish clock {} (at {})", node_.index(),
                                 clock, min_clock_.load()));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return Status::Ok();
}

void KVServer::ResumeAt(Clock clock) {
  std::fill(worker_clock_.begin(), worker_clock_.end(), clock);
  min_clock_ = clock;
}

void KVServer::Reply(const Message& request, MsgType type, Blob values, Blob control,
                     std::uint16_t flags) {
  Message r;
  r.head.type = type;
  r.head.flags = flags;
  r.head.receiver = request.head.sender;
  r.head.table = request.head.table;
  r.head.request = request.head.request;
  r.head.clock = request.head.clock;
  r.values = std::move(values);
  r.control = std::move(control);
  Status s = node_.Send(std::move(r));
  if (!s.ok()) {
    node_.log().warn("server: reply to {} failed: {}", node_.roles().Describe(request.head.sender),
                     s.ToString());
  }
}

void KVServer::Fail(const Message& request, const Status& why, std::uint16_t flags) {
  Reply(request, MsgType::kRequestFailed, {}, EncodeStatus(why), flags);
}

}  // namespace ecps::ps
