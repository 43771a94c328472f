// FailureDetector: declares a watched rank lost after a silence longer than the heartbeat
// timeout. Every role uses it: the scheduler watches every other rank (SchedulerService),
// every other rank watches the scheduler (Node's heartbeat thread).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ps/roles.h"
#include "ps/status.h"

namespace ecps::ps {

class FailureDetector {
 public:
  /// Seconds since a message from a rank was last received.
  using SecondsSinceHeard = std::function<double(Rank)>;

  /// Watches `watched` (named as `roles` describes them; `roles` must outlive this) for a
  /// silence longer than `timeout_s`, read through `since`. `hint` ends the message.
  FailureDetector(const RoleTable& roles, std::vector<Rank> watched, double timeout_s,
                  SecondsSinceHeard since, std::string hint = "");

  /// The first watched rank silent for longer than the timeout, as PeerLost("lost rank 2
  /// (worker 0): nothing heard for 10.3 s (heartbeat timeout 10 s)" + hint); OK when none.
  /// Ask only while the caller keeps up with its own messages (Node::KeepingUp), so that a
  /// caller that fell behind blames nobody.
  Status FirstLost() const;

 private:
  const RoleTable& roles_;
  std::vector<Rank> watched_;
  double timeout_s_;
  SecondsSinceHeard since_;
  std::string hint_;
};

}  // namespace ecps::ps
