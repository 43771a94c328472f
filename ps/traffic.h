// Traffic: bytes and messages a rank's transport sent and received, by kind and by clock.
//
// Every backend counts each message once when it sends it and once when it receives it, as
// the bytes it occupies on the wire: the fixed header plus its keys, values and control parts
// (MPI's own envelopes are not counted). Kinds: kv (push, pull, their replies and clock
// messages: the model's parameter traffic), control (models' payloads, collectives) and
// system (barriers, heartbeats, abort, shutdown). Kv messages are also counted per clock (the
// clock in their header; a clock message under the clock it ends).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

#include <cereal/types/vector.hpp>

#include "ps/message.h"
#include "ps/types.h"

namespace ecps::ps {

/// A number of messages and the bytes they occupy on the wire.
struct TrafficCount {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;

  void Add(const TrafficCount& o) {
    messages += o.messages;
    bytes += o.bytes;
  }
  template <class A>
  void serialize(A& ar) { ar(messages, bytes); }
};

enum class TrafficKind : std::uint8_t { kKv = 0, kControl = 1, kSystem = 2 };
constexpr int kTrafficKinds = 3;

/// The kind of a message of type `t`.
TrafficKind KindOf(MsgType t);
/// The bytes `m` occupies on the wire (header and parts).
std::uint64_t WireBytes(const Message& m);

/// What one rank's transport moved, as copied out of its counter.
struct RankTraffic {
  Rank rank = -1;
  std::array<TrafficCount, kTrafficKinds> sent{};      // by TrafficKind
  std::array<TrafficCount, kTrafficKinds> received{};
  /// Rows (keys) named by push and by pull requests sent: the touched keys.
  std::uint64_t pushed_rows = 0;
  std::uint64_t pulled_rows = 0;
  /// Kv messages sent, per clock (index = clock); clocks past kMaxClocks count in sent only.
  std::vector<TrafficCount> kv_sent_per_clock;

  static constexpr std::size_t kMaxClocks = std::size_t{1} << 16;

  TrafficCount SentTotal() const;
  TrafficCount ReceivedTotal() const;
  /// Adds `o`'s counts (another job on the same rank): kinds, rows, and clock by clock.
  void Add(const RankTraffic& o);
  template <class A>
  void serialize(A& ar) {
    ar(rank);
    for (auto& c : sent) ar(c);
    for (auto& c : received) ar(c);
    ar(pushed_rows, pulled_rows, kv_sent_per_clock);
  }
};

/// Thread-safe counter that a transport updates on every send and receive.
class TrafficCounter {
 public:
  void CountSent(const Message& m);
  void CountReceived(const Message& m);
  /// A copy of the counts so far, labelled with `rank`.
  RankTraffic Snapshot(Rank rank) const;

 private:
  mutable std::mutex mu_;
  RankTraffic t_;
};

}  // namespace ecps::ps
