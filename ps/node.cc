#include "ps/node.h"

#include <fmt/format.h>

namespace ecps::ps {
namespace {

SteadyClock::rep NowTicks() { return SteadyClock::now().time_since_epoch().count(); }

double SecondsSince(SteadyClock::rep ticks) {
  return std::chrono::duration<double>(SteadyClock::now().time_since_epoch() -
                                       SteadyClock::duration(ticks))
      .count();
}

}  // namespace

Node::Node(RoleTable roles, std::unique_ptr<Transport> transport, NodeOptions options,
           std::shared_ptr<spdlog::logger> logger)
    : roles_(roles),
      transport_(std::move(transport)),
      options_(options),
      logger_(std::move(logger)),
      last_heard_(new std::atomic<SteadyClock::rep>[static_cast<std::size_t>(roles.size())]) {
  assert(transport_->size() == roles_.size());
  for (int r = 0; r < roles_.size(); ++r) last_heard_[static_cast<std::size_t>(r)] = NowTicks();
  if (role() != Role::kScheduler) {
    scheduler_watch_.emplace(roles_, std::vector<Rank>{RoleTable::kSchedulerRank},
                             options_.heartbeat_timeout_s, [this](Rank r) { return SecondsSinceHeard(r); });
  }
}

Node::~Node() { Stop(); }

void Node::SetHandler(Service service, std::function<void(Message&&)> handler) {
  assert(!started_);
  handlers_[service] = std::move(handler);
}

void Node::AddTicker(std::function<void()> ticker) {
  assert(!started_);
  tickers_.push_back(std::move(ticker));
}

void Node::AddAbortListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  abort_listeners_.push_back(std::move(listener));
}

void Node::Start() {
  assert(!started_);
  started_ = true;
  for (int r = 0; r < roles_.size(); ++r) last_heard_[static_cast<std::size_t>(r)] = NowTicks();
  last_progress_ = NowTicks();
  caught_up_since_ = NowTicks();
  // Replies only touch the client's pending requests: where the transport can, they are
  // handled on the sender's thread (see Transport::SetDirectSink).
  transport_->SetDirectSink([this](Message& m) {
    if (m.head.type != MsgType::kPushAck && m.head.type != MsgType::kPullReply &&
        m.head.type != MsgType::kRequestFailed) {
      return false;
    }
    const Rank from = m.head.sender;
    if (from >= 0 && from < roles_.size()) last_heard_[static_cast<std::size_t>(from)] = NowTicks();
    Route(std::move(m));
    return true;
  });
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
}

void Node::Stop() {
  if (stop_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
  }
  cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  transport_->SetDirectSink(nullptr);
  transport_->Close();
  if (dispatcher_.joinable()) dispatcher_.join();
}

Status Node::Send(Message msg) { return transport_->Send(std::move(msg)); }

void Node::DispatchLoop() {
  const auto stall = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(options_.heartbeat_interval_s));
  while (!stop_.load(std::memory_order_acquire)) {
    auto got = transport_->Recv(DeadlineIn(0.05));
    NoteProgress(stall);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kTimeout) continue;
      if (stop_) break;
      if (got.status().code() == StatusCode::kAborted) break;  // transport closed
      if (got.status().code() == StatusCode::kPeerLost) {
        // A sender died in the middle of a message. The scheduler's heartbeat monitor names
        // the lost rank to everyone (or, if the scheduler is the one gone, ours does): keep
        // dispatching so that news gets through.
        logger_->warn("receive: {}", got.status().message());
        continue;
      }
      SetAbort(got.status().WithContext(fmt::format("{}: receive", roles_.Describe(rank()))));
      continue;
    }
    Message m = std::move(got).value();
    Rank from = m.head.sender;
    if (from >= 0 && from < roles_.size()) last_heard_[static_cast<std::size_t>(from)] = NowTicks();
    Route(std::move(m));
  }
}

void Node::NoteProgress(SteadyClock::duration stall) {
  const auto now = NowTicks();
  if (now - last_progress_.load() > stall.count()) caught_up_since_ = now;  // a stall just ended
  last_progress_ = now;
}

void Node::Route(Message&& m) {
  auto deliver = [&](Service s) {
    auto it = handlers_.find(s);
    if (it == handlers_.end()) {
      logger_->warn("dropping {} message from {}: no {} on this rank", MsgTypeName(m.head.type),
                    roles_.Describe(m.head.sender), s == Service::kServer ? "server" : "client");
      return;
    }
    it->second(std::move(m));
  };
  switch (m.head.type) {
    case MsgType::kPush:
    case MsgType::kPull:
    case MsgType::kClock:
      deliver(Service::kServer);
      break;
    case MsgType::kPushAck:
    case MsgType::kPullReply:
    case MsgType::kRequestFailed:
      deliver(Service::kClient);
      break;
    case MsgType::kBarrier:
      deliver(Service::kScheduler);
      break;
    case MsgType::kHeartbeat:
      break;  // last_heard_ already updated
    case MsgType::kBarrierRelease:
      ReleaseBarrier(static_cast<BarrierGroup>(m.head.topic), m.head.request);
      break;
    case MsgType::kAbort: {
      Status reason = DecodeStatus(m.control, Aborted("aborted (reason unreadable)"));
      if (role() == Role::kScheduler) {
        (void)Abort(reason);  // propagate to everyone
      } else {
        SetAbort(reason);
      }
      break;
    }
    case MsgType::kShutdown: {
      {
        std::lock_guard lock(mu_);
        shutdown_ = true;
      }
      monitoring_ = false;
      cv_.notify_all();
      break;
    }
    case MsgType::kControl: {
      {
        std::lock_guard lock(mu_);
        inbox_[m.head.topic].push_back(std::move(m));
      }
      cv_.notify_all();
      break;
    }
  }
}

void Node::HeartbeatLoop() {
  auto last_sent = SteadyClock::now() - std::chrono::hours(1);
  const auto interval = std::chrono::duration<double>(options_.heartbeat_interval_s);
  const double tick_s = std::min(0.1, options_.heartbeat_interval_s);
  while (!stop_.load(std::memory_order_acquire)) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::duration<double>(tick_s), [&] { return stop_.load(); });
    }
    if (stop_) break;
    if (SteadyClock::now() - last_sent >= interval && monitoring_) {
      last_sent = SteadyClock::now();
      auto beat = [&](Rank to) {
        Message m;
        m.head.type = MsgType::kHeartbeat;
        m.head.receiver = to;
        (void)transport_->Send(std::move(m));  // a peer that is gone is the monitor's business
      };
      if (role() == Role::kScheduler) {
        for (Rank r = 1; r < roles_.size(); ++r) beat(r);
      } else {
        beat(RoleTable::kSchedulerRank);
      }
    }
    if (scheduler_watch_ && monitoring_ && !aborted() && KeepingUp()) {
      if (Status lost = scheduler_watch_->FirstLost(); !lost.ok()) SetAbort(lost);
    }
    for (auto& t : tickers_) t();
  }
}

double Node::SecondsSinceHeard(Rank r) const {
  return SecondsSince(last_heard_[static_cast<std::size_t>(r)].load());
}

bool Node::KeepingUp() const {
  // Turning over now, and for a while since its last stall (a long handler), so queued
  // heartbeats have been read.
  const double beat = options_.heartbeat_interval_s;
  return SecondsSince(last_progress_.load()) < beat &&
         SecondsSince(caught_up_since_.load()) > 2 * beat;
}

void Node::SetAbort(const Status& reason) {
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard lock(mu_);
    if (aborted_) return;
    abort_status_ = reason.ok() ? Aborted("aborted") : reason;
    aborted_.store(true, std::memory_order_release);
    listeners = abort_listeners_;
  }
  monitoring_ = false;
  // Info, not error: every rank learns the same reason, and the command that ran the job
  // reports it once as its error (--quiet then shows that line alone).
  logger_->info("job aborted: {}", abort_status_.message());
  cv_.notify_all();
  for (auto& l : listeners) l();
}

Status Node::Abort(const Status& reason) {
  // Tell the others before waking local waiters: a woken main thread may stop this node
  // (closing the transport) while the news is still unsent.
  bool first = false;
  {
    std::lock_guard lock(mu_);
    if (!aborted_ && !abort_sent_) first = abort_sent_ = true;
  }
  if (first) {
    const Status& news = reason.ok() ? Aborted("aborted") : reason;
    auto send = [&](Rank to) {
      Message m;
      m.head.type = MsgType::kAbort;
      m.head.receiver = to;
      m.control = EncodeStatus(news);
      (void)transport_->Send(std::move(m));
    };
    if (role() == Role::kScheduler) {
      for (Rank r = 1; r < roles_.size(); ++r) send(r);
    } else {
      send(RoleTable::kSchedulerRank);
    }
  }
  SetAbort(reason);
  return abort_status();
}

bool Node::WaitForAbort(Deadline deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return aborted_.load(); });
  return aborted_.load();
}

Status Node::abort_status() const {
  std::lock_guard lock(mu_);
  return abort_status_;
}

Status Node::Barrier(BarrierGroup group, Deadline deadline) {
  auto g = static_cast<std::uint32_t>(group);
  std::uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = ++barrier_seq_[g];
  }
  Message m;
  m.head.type = MsgType::kBarrier;
  m.head.receiver = RoleTable::kSchedulerRank;
  m.head.topic = g;
  m.head.request = seq;
  ECPS_RETURN_IF_ERROR_CTX(transport_->Send(std::move(m)), "barrier");
  std::unique_lock lock(mu_);
  bool done = cv_.wait_until(lock, deadline, [&] {
    return aborted_.load() || stop_.load() || barrier_released_[g] >= seq;
  });
  if (aborted_) return abort_status_;
  if (!done || barrier_released_[g] < seq) {
    return Timeout(fmt::format("barrier {} (#{}) not complete before the deadline", g, seq));
  }
  return Status::Ok();
}

void Node::ReleaseBarrier(BarrierGroup group, std::uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    auto& released = barrier_released_[static_cast<std::uint32_t>(group)];
    released = std::max(released, seq);
  }
  cv_.notify_all();
}

Status Node::SendControl(Rank to, std::uint32_t topic, Blob payload) {
  Message m;
  m.head.type = MsgType::kControl;
  m.head.receiver = to;
  m.head.topic = topic;
  m.control = std::move(payload);
  return transport_->Send(std::move(m));
}

Result<Message> Node::RecvControl(std::uint32_t topic, Rank from, Deadline deadline) {
  std::unique_lock lock(mu_);
  auto& q = inbox_[topic];
  auto find = [&] {
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (from < 0 || it->head.sender == from) return it;
    }
    return q.end();
  };
  auto it = q.end();
  cv_.wait_until(lock, deadline, [&] {
    it = find();
    return it != q.end() || aborted_.load() || stop_.load();
  });
  if (it != q.end()) {
    Message m = std::move(*it);
    q.erase(it);
    return m;
  }
  if (aborted_) return abort_status_;
  return Timeout(fmt::format("no control message on topic {} from {} before the deadline", topic,
                             from < 0 ? std::string("any rank") : roles_.Describe(from)));
}

void Node::BroadcastShutdown() {
  monitoring_ = false;
  for (Rank r = 1; r < roles_.size(); ++r) {
    Message m;
    m.head.type = MsgType::kShutdown;
    m.head.receiver = r;
    (void)transport_->Send(std::move(m));
  }
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

Status Node::WaitForShutdown(Deadline deadline) {
  std::unique_lock lock(mu_);
  bool done = cv_.wait_until(lock, deadline, [&] { return shutdown_ || aborted_.load(); });
  if (aborted_) return abort_status_;
  if (!done) return Timeout("no shutdown from the scheduler before the deadline");
  return Status::Ok();
}

}  // namespace ecps::ps
