#include "ps/failure_detector.h"

#include <utility>

#include <fmt/format.h>

namespace ecps::ps {

FailureDetector::FailureDetector(const RoleTable& roles, std::vector<Rank> watched, double timeout_s,
                                 SecondsSinceHeard since, std::string hint)
    : roles_(roles),
      watched_(std::move(watched)),
      timeout_s_(timeout_s),
      since_(std::move(since)),
      hint_(std::move(hint)) {}

Status FailureDetector::FirstLost() const {
  for (Rank r : watched_) {
    if (since_(r) > timeout_s_) {
      return PeerLost(fmt::format("lost {}: nothing heard for {:.1f} s (heartbeat timeout {} s){}",
                                  roles_.Describe(r), since_(r), timeout_s_, hint_));
    }
  }
  return Status::Ok();
}

}  // namespace ecps::ps
