#include "ps/faulty_transport.h"

#include <thread>

#include <fmt/format.h>

namespace ecps::ps {

Status FaultyTransport::Send(Message msg) {
  {
    std::lock_guard lock(mu_);
    if (dead_) return Status::Ok();  // a dead process sends nothing, and knows nothing of it
    ++sends_;
    if (plan_.die_after_sends >= 0 && sends_ > plan_.die_after_sends) {
      dead_ = true;
      return Status::Ok();
    }
    if (msg.head.receiver == plan_.fail_send_to && ++sends_to_target_ == plan_.fail_send_nth) {
      return PeerLost(fmt::format("injected failure: send #{} to rank {}", plan_.fail_send_nth,
                                  plan_.fail_send_to));
    }
  }
  return inner_->Send(std::move(msg));
}

Result<Message> FaultyTransport::Recv(Deadline deadline) {
  if (dead_) {
    std::this_thread::sleep_until(std::min(deadline, DeadlineIn(0.05)));
    return Timeout("recv: endpoint is dead (injected)");
  }
  return inner_->Recv(deadline);
}

}  // namespace ecps::ps
