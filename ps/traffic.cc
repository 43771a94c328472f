#include "ps/traffic.h"

namespace ecps::ps {

TrafficKind KindOf(MsgType t) {
  switch (t) {
    case MsgType::kPush:
    case MsgType::kPushAck:
    case MsgType::kPull:
    case MsgType::kPullReply:
    case MsgType::kRequestFailed:
    case MsgType::kClock:
      return TrafficKind::kKv;
    case MsgType::kControl:
      return TrafficKind::kControl;
    default:
      return TrafficKind::kSystem;
  }
}

std::uint64_t WireBytes(const Message& m) {
  return sizeof(MsgHeader) + m.keys.size() + m.values.size() + m.control.size();
}

TrafficCount RankTraffic::SentTotal() const {
  TrafficCount c;
  for (const auto& k : sent) c.Add(k);
  return c;
}

TrafficCount RankTraffic::ReceivedTotal() const {
  TrafficCount c;
  for (const auto& k : received) c.Add(k);
  return c;
}

void RankTraffic::Add(const RankTraffic& o) {
  for (std::size_t k = 0; k < sent.size(); ++k) {
    sent[k].Add(o.sent[k]);
    received[k].Add(o.received[k]);
  }
  pushed_rows += o.pushed_rows;
  pulled_rows += o.pulled_rows;
  if (kv_sent_per_clock.size() < o.kv_sent_per_clock.size()) {
    kv_sent_per_clock.resize(o.kv_sent_per_clock.size());
  }
  for (std::size_t c = 0; c < o.kv_sent_per_clock.size(); ++c) kv_sent_per_clock[c].Add(o.kv_sent_per_clock[c]);
}

void TrafficCounter::CountSent(const Message& m) {
  const TrafficCount one{1, WireBytes(m)};
  const TrafficKind kind = KindOf(m.head.type);
  // A clock message carries the clock it starts: it belongs to the one before.
  const Clock clock = m.head.type == MsgType::kClock ? m.head.clock - 1 : m.head.clock;
  const std::uint64_t rows = m.keys.empty() ? m.head.range_end - m.head.range_begin
                                           : m.keys.size() / sizeof(Key);
  std::lock_guard lock(mu_);
  t_.sent[static_cast<int>(kind)].Add(one);
  if (m.head.type == MsgType::kPush) t_.pushed_rows += rows;
  if (m.head.type == MsgType::kPull) t_.pulled_rows += rows;
  if (kind != TrafficKind::kKv || clock < 0) return;
  const auto c = static_cast<std::size_t>(clock);
  if (c >= RankTraffic::kMaxClocks) return;
  if (c >= t_.kv_sent_per_clock.size()) t_.kv_sent_per_clock.resize(c + 1);
  t_.kv_sent_per_clock[c].Add(one);
}

void TrafficCounter::CountReceived(const Message& m) {
  const TrafficCount one{1, WireBytes(m)};
  std::lock_guard lock(mu_);
  t_.received[static_cast<int>(KindOf(m.head.type))].Add(one);
}

RankTraffic TrafficCounter::Snapshot(Rank rank) const {
  std::lock_guard lock(mu_);
  RankTraffic t = t_;
  t.rank = rank;
  return t;
}

}  // namespace ecps::ps
