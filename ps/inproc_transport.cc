#include "ps/inproc_transport.h"

#include <fmt/format.h>

namespace ecps::ps {

class InProcTransport final : public Transport {
 public:
  InProcTransport(std::shared_ptr<InProcHub> hub, Rank rank) : hub_(std::move(hub)), rank_(rank) {}
  ~InProcTransport() override { Close(); }

  Rank rank() const override { return rank_; }
  int size() const override { return hub_->size(); }

  Status Send(Message msg) override {
    Rank to = msg.head.receiver;
    if (to < 0 || to >= size()) {
      return InvalidArgument(fmt::format("send to rank {}: no such rank (job has {})", to, size()));
    }
    msg.head.sender = rank_;
    msg.SyncSizes();
    auto& box = *hub_->boxes_[static_cast<std::size_t>(to)];
    {
      std::lock_guard lock(box.mu);
      if (box.closed) return Aborted(fmt::format("send to rank {}: endpoint closed", to));
      hub_->boxes_[static_cast<std::size_t>(rank_)]->traffic.CountSent(msg);
      box.traffic.CountReceived(msg);
      if (box.sink && box.sink(msg)) return Status::Ok();
      box.queue.push_back(std::move(msg));
    }
    box.cv.notify_one();
    return Status::Ok();
  }

  Result<Message> Recv(Deadline deadline) override {
    auto& box = *hub_->boxes_[static_cast<std::size_t>(rank_)];
    std::unique_lock lock(box.mu);
    if (!box.cv.wait_until(lock, deadline, [&] { return !box.queue.empty() || box.closed; })) {
      return Timeout("recv: no message before the deadline");
    }
    if (box.queue.empty()) return Aborted("recv: endpoint closed");
    Message m = std::move(box.queue.front());
    box.queue.pop_front();
    return m;
  }

  void SetDirectSink(DirectSink sink) override {
    auto& box = *hub_->boxes_[static_cast<std::size_t>(rank_)];
    std::lock_guard lock(box.mu);
    box.sink = std::move(sink);
  }

  RankTraffic Traffic() const override {
    return hub_->boxes_[static_cast<std::size_t>(rank_)]->traffic.Snapshot(rank_);
  }

  void Close() override {
    auto& box = *hub_->boxes_[static_cast<std::size_t>(rank_)];
    {
      std::lock_guard lock(box.mu);
      box.closed = true;
    }
    box.cv.notify_all();
  }

 private:
  std::shared_ptr<InProcHub> hub_;
  Rank rank_;
};

InProcHub::InProcHub(int size) {
  for (int i = 0; i < size; ++i) boxes_.push_back(std::make_unique<Mailbox>());
}

std::shared_ptr<InProcHub> InProcHub::Create(int size) {
  return std::shared_ptr<InProcHub>(new InProcHub(size));
}

std::unique_ptr<Transport> InProcHub::Endpoint(Rank rank) {
  assert(rank >= 0 && rank < size());
  return std::make_unique<InProcTransport>(shared_from_this(), rank);
}

}  // namespace ecps::ps
