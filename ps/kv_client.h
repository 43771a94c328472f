// KVClient: the worker half of the parameter server on one rank.
//
// Three verbs and a wait. Push and Pull are non-blocking: they split the request by server
// key range, send one message per server and return a handle at once; Wait(handle,
// deadline) blocks until every server answered, the deadline passed, or the job aborted.
//
// Contracts:
//  - `keys` are sorted ascending and unique; values are keys.size() * width numbers, row
//    by row. Dense-range variants take [begin, end) instead of a key list. A server's share
//    of a key list that has no gap travels as a range too (no key bytes on the wire).
//  - The spans passed to Push and Pull are not copied: they must stay alive and unchanged
//    (Pull: untouched) until Wait on the handle returns. A Wait that fails (deadline or abort)
//    aborts the job and waits a little for the servers' answers (servers refuse requests of an
//    aborted job without reading them), so the buffers can be freed when it returns.
//  - Pushes issued before Clock() belong to the clock that Clock() ends. A pull issued at
//    clock c sees every update from clocks <= c-s-1 (s = the job's staleness).
//  - Thread-safe: several threads may push and pull at once; Clock() from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "ps/node.h"
#include "ps/table.h"

namespace ecps::ps {

using Handle = std::uint64_t;

class KVClient {
 public:
  /// Registers as `node`'s client handler; construct before node.Start(). `tables` is the
  /// job's table list (the same on every rank).
  KVClient(Node& node, const std::vector<TableSpec>& tables);
  KVClient(const KVClient&) = delete;
  KVClient& operator=(const KVClient&) = delete;

  template <class T>
  Handle Push(TableId table, std::span<const Key> keys, std::span<const T> values) {
    return Request(MsgType::kPush, table, ValueTypeOf<T>(), keys, 0, 0,
                   const_cast<T*>(values.data()), values.size());
  }
  template <class T>
  Handle PushRange(TableId table, Key begin, Key end, std::span<const T> values) {
    return Request(MsgType::kPush, table, ValueTypeOf<T>(), {}, begin, end,
                   const_cast<T*>(values.data()), values.size());
  }
  template <class T>
  Handle Pull(TableId table, std::span<const Key> keys, std::span<T> out) {
    return Request(MsgType::kPull, table, ValueTypeOf<T>(), keys, 0, 0, out.data(), out.size());
  }
  template <class T>
  Handle PullRange(TableId table, Key begin, Key end, std::span<T> out) {
    return Request(MsgType::kPull, table, ValueTypeOf<T>(), {}, begin, end, out.data(), out.size());
  }

  /// Blocks until the request is complete. Fails with the servers' reason (its code as the
  /// server gave it), kTimeout at the deadline (which aborts the job: a late answer could write
  /// into a freed buffer), or the job's abort status. A server that refused the request because
  /// the job was aborted sends the abort reason along; when that reply is this rank's first
  /// news of the abort, Wait aborts this node with that reason and returns it.
  Status Wait(Handle h, Deadline deadline);

  /// Waits for every request in `requests` (a handle of 0 is skipped), even after one failed.
  /// Returns `first` when it is a failure, else the first failed request's status with its
  /// name as context. Each request borrows its caller's buffers until its Wait returns, so a
  /// caller that issued several must not return on the first failure: a late reply to another
  /// would be written into freed memory.
  Status WaitAll(std::span<const std::pair<Handle, const char*>> requests, Deadline deadline,
                 Status first = Status::Ok());

  /// Ends this worker's current clock on every server and advances it.
  Status Clock();
  ps::Clock clock() const { return clock_.load(); }
  /// A resumed run: the clocks 0..clock-1 count as finished (before the first Clock(); the
  /// servers call KVServer::ResumeAt with the same clock).
  void ResumeAt(ps::Clock clock) { clock_.store(clock); }

  const TableSpec& spec(TableId id) const;

 private:
  struct Pending {
    int remaining = 0;
    Status status;
    Status job_abort;                         // set when a server refused: the job was aborted
    std::byte* out = nullptr;                 // pull destination
    std::vector<std::size_t> out_offset;      // per server: byte offset in out
    std::vector<std::size_t> out_bytes;       // per server: expected reply bytes
  };

  Handle Request(MsgType type, TableId table, ValueType vt, std::span<const Key> keys, Key begin,
                 Key end, void* values, std::size_t num_values);
  Handle Failed(Status why);
  void OnReply(Message&& m);

  static constexpr double kAbandonGraceSeconds = 2.0;

  Node& node_;
  std::map<TableId, TableSpec> specs_;
  std::map<TableId, RangePartition> parts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Handle, Pending> pending_;
  Handle next_ = 1;
  std::atomic<ps::Clock> clock_{0};
};

}  // namespace ecps::ps
