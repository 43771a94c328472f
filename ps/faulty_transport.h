// FaultyTransport: a decorator that injects failures deterministically, for tests.
//
// Wraps a real transport and, by rule, fails the Nth send to a peer or makes this endpoint
// go silent (as if its process had been killed). Callers must see the failure as an error
// they can report: no exit(), no hang.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "ps/transport.h"

namespace ecps::ps {

struct FaultPlan {
  /// Fail the Nth (1-based) send to `fail_send_to` with kPeerLost; 0 disables.
  Rank fail_send_to = -1;
  int fail_send_nth = 0;
  /// After this many sends in total the endpoint "dies": every later send is silently
  /// dropped and nothing more is received. -1 disables.
  int die_after_sends = -1;
};

class FaultyTransport final : public Transport {
 public:
  FaultyTransport(std::unique_ptr<Transport> inner, FaultPlan plan)
      : inner_(std::move(inner)), plan_(plan) {}

  Rank rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  Status Send(Message msg) override;
  Result<Message> Recv(Deadline deadline) override;
  void Close() override { inner_->Close(); }
  RankTraffic Traffic() const override { return inner_->Traffic(); }

  /// True once die_after_sends has been reached.
  bool dead() const { return dead_.load(); }

 private:
  std::unique_ptr<Transport> inner_;
  FaultPlan plan_;
  std::mutex mu_;
  int sends_ = 0;
  int sends_to_target_ = 0;
  std::atomic<bool> dead_{false};
};

}  // namespace ecps::ps
