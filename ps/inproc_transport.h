// In-process transport: every rank is a thread of one process and messages move through
// per-rank mailboxes without copying (borrowed blobs are read in place by the receiver).
// A receiver's direct sink (Transport::SetDirectSink) runs on the sender's thread: a reply
// then wakes the waiting worker thread at once, with no hop through the receiver's
// dispatcher (a hop that a busy core can delay by a whole time slice).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "ps/transport.h"

namespace ecps::ps {

/// Shared by the endpoints of one single-node job. Create it, then one endpoint per rank.
class InProcHub : public std::enable_shared_from_this<InProcHub> {
 public:
  static std::shared_ptr<InProcHub> Create(int size);
  int size() const { return static_cast<int>(boxes_.size()); }
  /// The endpoint of `rank`; each rank's endpoint is taken once.
  std::unique_ptr<Transport> Endpoint(Rank rank);

 private:
  friend class InProcTransport;
  struct Mailbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Message> queue;
    Transport::DirectSink sink;  // called under mu
    bool closed = false;
    TrafficCounter traffic;  // of this rank's endpoint
  };
  explicit InProcHub(int size);
  std::vector<std::unique_ptr<Mailbox>> boxes_;
};

}  // namespace ecps::ps
