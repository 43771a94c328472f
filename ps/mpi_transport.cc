#include "ps/mpi_transport.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <array>
#include <list>
#include <set>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace ecps::ps {
namespace {

// Each message is a header followed by its non-empty parts, each on its own tag. MPI keeps
// messages with the same (source, tag, communicator) in order, and a sender posts all parts
// of a message under one lock, so the receiver can match parts to headers by source.
constexpr int kTagHeader = 1;
constexpr int kTagKeys = 2;
constexpr int kTagValues = 3;
constexpr int kTagControl = 4;
// MPI counts are ints: larger parts travel in chunks of at most this many bytes.
constexpr std::size_t kChunk = std::size_t{1} << 30;

std::string MpiError(int code) {
  std::array<char, MPI_MAX_ERROR_STRING> buf{};
  int len = 0;
  MPI_Error_string(code, buf.data(), &len);
  return std::string(buf.data(), static_cast<std::size_t>(len));
}

class MpiTransport final : public Transport {
 public:
  MpiTransport(MPI_Comm comm, MpiTransportOptions options, int rank, int size)
      : comm_(comm), options_(options), rank_(rank), size_(size) {}

  // The duplicate is not freed: Open MPI would hand its context id to the next
  // MPI_Comm_dup (the next job of this process, e.g. the second of itemcf's two jobs), and a
  // message of this job still in flight (a heartbeat sent after this rank stopped receiving)
  // would then be matched in the new communicator, in the place of one of its messages
  // (which is then never received: a silent hang). A retired communicator keeps such
  // messages to itself; MPI_Finalize releases it.
  ~MpiTransport() override { Close(); }

  Rank rank() const override { return rank_; }
  int size() const override { return size_; }

  Status Send(Message msg) override {
    Rank to = msg.head.receiver;
    if (to < 0 || to >= size_) {
      return InvalidArgument(fmt::format("send to rank {}: no such rank (job has {})", to, size_));
    }
    msg.head.sender = rank_;
    msg.SyncSizes();
    std::lock_guard lock(send_mu_);
    if (closed_) return Aborted(fmt::format("send to rank {}: transport closed", to));
    auto& pending = pending_.emplace_back();
    pending.msg = std::move(msg);
    Message& m = pending.msg;
    ECPS_RETURN_IF_ERROR(Post(&m.head, sizeof(MsgHeader), to, kTagHeader, &pending.requests));
    ECPS_RETURN_IF_ERROR(Post(m.keys.data(), m.keys.size(), to, kTagKeys, &pending.requests));
    ECPS_RETURN_IF_ERROR(Post(m.values.data(), m.values.size(), to, kTagValues, &pending.requests));
    ECPS_RETURN_IF_ERROR(Post(m.control.data(), m.control.size(), to, kTagControl, &pending.requests));
    traffic_.CountSent(m);
    ReapLocked();
    last_activity_.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
    Poke();
    return Status::Ok();
  }

  Result<Message> Recv(Deadline deadline) override {
    while (true) {
      if (closed_flag_.load(std::memory_order_acquire)) return Aborted("recv: transport closed");
      int flag = 0;
      MPI_Message handle;
      MPI_Status st;
      int rc = MPI_Improbe(MPI_ANY_SOURCE, kTagHeader, comm_, &flag, &handle, &st);
      if (rc != MPI_SUCCESS) return Internal("MPI_Improbe: " + MpiError(rc));
      const auto now = SteadyClock::now();
      if (flag) {
        last_activity_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
        return ReceiveBody(handle, st.MPI_SOURCE);
      }
      {
        std::lock_guard lock(send_mu_);
        ReapLocked();
      }
      if (now >= deadline) return Timeout("recv: no message before the deadline");
      // Back off in proportion to how long the rank has been idle (nothing received or sent):
      // a fiftieth of the idle time, capped. Latency added to a message stays near 2% of the
      // silence before it (after ~4 ms of silence, sleeps of ~80 us), and an idle rank wakes
      // at most 1/max_idle_sleep_us times a second.
      const SteadyClock::time_point last{SteadyClock::duration(last_activity_.load(std::memory_order_relaxed))};
      const auto idle_us = std::chrono::duration_cast<std::chrono::microseconds>(now - last).count();
      if (idle_us < 50) {
        std::this_thread::yield();
      } else {
        const auto us = std::min<long>(options_.max_idle_sleep_us, std::max<long>(5, idle_us / 50));
        std::unique_lock lock(idle_mu_);
        idle_cv_.wait_for(lock, std::chrono::microseconds(us), [&] { return poked_; });
        poked_ = false;
      }
    }
  }

  RankTraffic Traffic() const override { return traffic_.Snapshot(rank_); }

  void Close() override {
    std::unique_lock lock(send_mu_);
    if (closed_) return;
    closed_ = true;
    closed_flag_.store(true, std::memory_order_release);
    // Let queued sends leave (bounded): a peer that is gone must not hang shutdown.
    Deadline until = DeadlineIn(5.0);
    while (!pending_.empty() && SteadyClock::now() < until) {
      ReapLocked();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      lock.lock();
    }
    for (auto& p : pending_) {
      for (auto& r : p.requests) {
        if (r != MPI_REQUEST_NULL) MPI_Cancel(&r);
      }
    }
    pending_.clear();
  }

 private:
  struct PendingSend {
    Message msg;
    std::vector<MPI_Request> requests;
  };

  Status Post(const void* data, std::size_t bytes, int to, int tag, std::vector<MPI_Request>* reqs) {
    const auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
      std::size_t n = std::min(bytes, kChunk);
      MPI_Request r;
      int rc = MPI_Isend(p, static_cast<int>(n), MPI_BYTE, to, tag, comm_, &r);
      if (rc != MPI_SUCCESS) return Internal(fmt::format("MPI_Isend to rank {}: {}", to, MpiError(rc)));
      reqs->push_back(r);
      p += n;
      bytes -= n;
    }
    return Status::Ok();
  }

  // Frees messages whose sends have completed. Caller holds send_mu_.
  void ReapLocked() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      MPI_Testall(static_cast<int>(it->requests.size()), it->requests.data(), &done,
                  MPI_STATUSES_IGNORE);
      it = done ? pending_.erase(it) : std::next(it);
    }
  }

  Status PostRecv(Blob* blob, std::size_t bytes, int from, int tag, std::vector<MPI_Request>* reqs) {
    *blob = Blob::Allocate(bytes);
    auto* p = reinterpret_cast<char*>(bytes ? blob->mutable_data() : nullptr);
    while (bytes > 0) {
      std::size_t n = std::min(bytes, kChunk);
      MPI_Request r;
      int rc = MPI_Irecv(p, static_cast<int>(n), MPI_BYTE, from, tag, comm_, &r);
      if (rc != MPI_SUCCESS) return Internal(fmt::format("MPI_Irecv from rank {}: {}", from, MpiError(rc)));
      reqs->push_back(r);
      p += n;
      bytes -= n;
    }
    return Status::Ok();
  }

  Result<Message> ReceiveBody(MPI_Message handle, int from) {
    Message m;
    int rc = MPI_Mrecv(&m.head, sizeof(MsgHeader), MPI_BYTE, &handle, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return Internal("MPI_Mrecv: " + MpiError(rc));
    if (Status s = CheckHeader(m.head, size_); !s.ok()) {
      return Internal(fmt::format("message from rank {} has a bad header: {}", from, s.message()));
    }
    std::vector<MPI_Request> reqs;
    ECPS_RETURN_IF_ERROR(PostRecv(&m.keys, m.head.key_bytes, from, kTagKeys, &reqs));
    ECPS_RETURN_IF_ERROR(PostRecv(&m.values, m.head.value_bytes, from, kTagValues, &reqs));
    ECPS_RETURN_IF_ERROR(PostRecv(&m.control, m.head.control_bytes, from, kTagControl, &reqs));
    // A sender already caught stopping mid-message gets no second wait.
    Deadline until = stalled_senders_.count(from) ? SteadyClock::now() : DeadlineIn(options_.part_timeout_s);
    int rounds = 0;
    while (!reqs.empty()) {
      int done = 0;
      MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE);
      if (done) break;
      if (SteadyClock::now() >= until) {
        for (auto& r : reqs) {
          if (r != MPI_REQUEST_NULL) MPI_Cancel(&r);
        }
        stalled_senders_.insert(from);
        return PeerLost(fmt::format("rank {} sent a {} header but its data did not follow within {} s",
                                    from, MsgTypeName(m.head.type), options_.part_timeout_s));
      }
      if (++rounds > 64) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    traffic_.CountReceived(m);
    return m;
  }

  // Ends the dispatcher's back-off sleep: this rank just sent, and a reply may follow soon.
  void Poke() {
    {
      std::lock_guard lock(idle_mu_);
      poked_ = true;
    }
    idle_cv_.notify_one();
  }

  MPI_Comm comm_;
  MpiTransportOptions options_;
  int rank_;
  int size_;
  std::mutex send_mu_;
  std::list<PendingSend> pending_;  // list: requests point into stable message storage
  bool closed_ = false;
  std::atomic<bool> closed_flag_{false};
  // When this rank last received or sent a message (steady-clock ticks): a rank that just
  // sent a request expects its reply soon, so its dispatcher polls hot again.
  std::atomic<SteadyClock::rep> last_activity_{SteadyClock::now().time_since_epoch().count()};
  std::set<int> stalled_senders_;                               // Recv thread only
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  bool poked_ = false;
  TrafficCounter traffic_;
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeMpiTransport(MPI_Comm comm, MpiTransportOptions options) {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    return FailedPrecondition("MPI was initialised without MPI_THREAD_MULTIPLE");
  }
  MPI_Comm dup;
  int rc = MPI_Comm_dup(comm, &dup);
  if (rc != MPI_SUCCESS) return Internal("MPI_Comm_dup: " + MpiError(rc));
  int rank = 0, size = 0;
  MPI_Comm_rank(dup, &rank);
  MPI_Comm_size(dup, &size);
  return std::unique_ptr<Transport>(std::make_unique<MpiTransport>(dup, options, rank, size));
}

}  // namespace ecps::ps
