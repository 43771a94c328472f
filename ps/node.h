// Node: the context of one rank (a process under MPI, a thread in single-node mode).
//
// A Node owns the rank's transport and its dispatcher thread, which receives every message
// and routes it: kv requests to the server, kv replies to the client, barriers and
// heartbeats to the scheduler service, control payloads to an inbox per topic. It also sends
// heartbeats, watches the scheduler's, and carries the job's abort state: once any rank
// aborts, every blocking call on every node returns that reason instead of hanging.
//
// There is no process-wide state: a test can run many Nodes in one process.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "ps/failure_detector.h"
#include "ps/message.h"
#include "ps/roles.h"
#include "ps/transport.h"

namespace ecps::ps {

struct NodeOptions {
  /// Seconds between heartbeats (worker/server -> scheduler and scheduler -> everyone).
  double heartbeat_interval_s = 1.0;
  /// A peer not heard from for this long is declared lost and the job aborts.
  double heartbeat_timeout_s = 10.0;
  /// Default deadline for blocking calls that the caller does not bound itself.
  double default_timeout_s = 600.0;
};

/// Barrier groups. Members of a group must call Barrier() the same number of times.
enum class BarrierGroup : std::uint32_t { kAll = 1, kWorkers = 2 };

/// Who receives a routed message: the server half, the client half or the scheduler service.
enum class Service { kServer, kClient, kScheduler };

class Node {
 public:
  Node(RoleTable roles, std::unique_ptr<Transport> transport, NodeOptions options,
       std::shared_ptr<spdlog::logger> logger);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Rank rank() const { return transport_->rank(); }
  Role role() const { return roles_.RoleOf(rank()); }
  /// Index among servers or workers (see RoleTable::IndexOf).
  int index() const { return roles_.IndexOf(rank()); }
  const RoleTable& roles() const { return roles_; }
  const NodeOptions& options() const { return options_; }
  spdlog::logger& log() const { return *logger_; }
  Deadline DefaultDeadline() const { return DeadlineIn(options_.default_timeout_s); }

  /// Routes messages for `service` to `handler`, which runs on the dispatcher thread and
  /// must not block. The client's handler (replies) may also run on the replying server's
  /// thread, concurrently with the dispatcher (in-process transport), and must not send.
  /// Set handlers before Start().
  void SetHandler(Service service, std::function<void(Message&&)> handler);
  /// Called on the heartbeat thread about every 100 ms (e.g. the scheduler's peer monitor).
  /// Set tickers before Start().
  void AddTicker(std::function<void()> ticker);
  /// Called once (from the thread that aborts) when the job aborts, so waiters can wake.
  void AddAbortListener(std::function<void()> listener);

  /// Starts the dispatcher and heartbeat threads. Call once.
  void Start();
  /// Stops the dispatcher and closes the transport. Idempotent; the destructor calls it.
  void Stop();

  /// Sends a message; fills in the sender. Never blocks.
  Status Send(Message msg);

  /// What this rank's transport has sent and received so far (ps/traffic.h).
  RankTraffic Traffic() const { return transport_->Traffic(); }
  /// Every rank's traffic over the job's work phase, in rank order: set on the scheduler by
  /// the job runner after the work phase (sched::GatherTraffic), empty elsewhere and before.
  const std::vector<RankTraffic>& job_traffic() const { return job_traffic_; }
  void SetJobTraffic(std::vector<RankTraffic> t) { job_traffic_ = std::move(t); }

  // ---- Job-wide control -------------------------------------------------------------

  /// Aborts the job with `reason`: wakes every local waiter and tells the scheduler, which
  /// tells everyone. The first reason wins. Returns the recorded abort status.
  Status Abort(const Status& reason);
  /// OK while the job runs normally; otherwise why it was aborted.
  Status abort_status() const;
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  /// Waits until the job is aborted or `deadline` passes; returns aborted().
  bool WaitForAbort(Deadline deadline);

  /// Waits until every member of `group` has called Barrier the same number of times.
  /// Fails on deadline or abort.
  Status Barrier(BarrierGroup group, Deadline deadline);

  /// Sends `payload` on control channel `topic` to rank `to`.
  Status SendControl(Rank to, std::uint32_t topic, Blob payload);
  /// Waits for the next control message on `topic`, from `from` (or any sender when -1).
  Result<Message> RecvControl(std::uint32_t topic, Rank from, Deadline deadline);

  /// Scheduler only: tells every other rank the job is finished.
  void BroadcastShutdown();
  /// Waits for the scheduler's shutdown message (servers use it to know when to stop).
  Status WaitForShutdown(Deadline deadline);

  // ---- Failure detection (ps/failure_detector.h) ---------------------------------------

  /// Seconds since a message from `r` was last received (since Start() when none yet).
  double SecondsSinceHeard(Rank r) const;
  /// True while this node's dispatcher keeps up with its queue (turned over within a
  /// heartbeat interval, no stall in the last two), so a silence it sees is the peer's.
  bool KeepingUp() const;
  /// Marks that no further heartbeats are expected (normal end): monitors stand down.
  void StopMonitoring() { monitoring_.store(false); }
  bool monitoring() const { return monitoring_.load(); }
  /// Delivers a barrier release locally (the scheduler's own membership).
  void ReleaseBarrier(BarrierGroup group, std::uint64_t seq);

 private:
  void DispatchLoop();
  void HeartbeatLoop();
  void Route(Message&& m);
  void NoteProgress(SteadyClock::duration stall);
  void SetAbort(const Status& reason);

  RoleTable roles_;
  std::unique_ptr<Transport> transport_;
  NodeOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  // Non-scheduler ranks: watches the scheduler.
  std::optional<FailureDetector> scheduler_watch_;

  std::map<Service, std::function<void(Message&&)>> handlers_;
  std::vector<std::function<void()>> tickers_;
  std::vector<std::function<void()>> abort_listeners_;

  std::thread dispatcher_;
  std::thread heartbeat_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> monitoring_{true};

  // Last time each rank was heard from, as steady-clock ticks.
  std::unique_ptr<std::atomic<SteadyClock::rep>[]> last_heard_;
  // Dispatcher liveness, as steady-clock ticks: when it last turned over, and when it last
  // came out of a stall longer than a heartbeat interval.
  std::atomic<SteadyClock::rep> last_progress_{0};
  std::atomic<SteadyClock::rep> caught_up_since_{0};

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::atomic<bool> aborted_{false};
  Status abort_status_;
  bool abort_sent_ = false;  // this node already told the others
  bool shutdown_ = false;
  std::map<std::uint32_t, std::uint64_t> barrier_seq_;       // calls made, per group
  std::map<std::uint32_t, std::uint64_t> barrier_released_;  // releases seen, per group
  std::map<std::uint32_t, std::deque<Message>> inbox_;       // control messages, per topic
  std::vector<RankTraffic> job_traffic_;  // job thread only
};

}  // namespace ecps::ps
