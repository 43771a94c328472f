// The parameter-server message as it arrives from a peer: a MsgHeader followed by the key,
// value and control parts of the sizes it announces (the MPI transport receives them as
// separate parts; here they follow the header). The message is checked as the transport
// checks it and handed to what consumes it: push/pull/clock to a server's table shard, the
// reason of a refusal or abort, and control payloads decoded as the job's Cereal types.
#include <array>
#include <cstring>
#include <utility>

#include <cereal/types/utility.hpp>

#include "fuzz/fuzz_util.h"
#include "models/kmeans/model.h"
#include "models/kmeans/messages.h"  // after model.h, which it uses
#include "ps/message.h"
#include "ps/server_table.h"
#include "scheduler/shard_plan.h"
#include "worker/feature_csv.h"
#include "worker/user_shard.h"

using namespace ecps;

namespace {

constexpr int kWorldSize = 4;

// One table shard per input: keys [64, 128) of a table of 256 keys; the header's table id
// picks the width and whether the table is clocked.
void ToTable(const ps::Message& m) {
  ps::TableSpec spec;
  spec.id = m.head.table;
  spec.name = "fuzz";
  spec.width = 1 + (m.head.table & 3);
  spec.num_keys = 256;
  spec.clocked = (m.head.table & 4) != 0;
  ps::FinalizeContext ctx;
  ctx.table = spec.id;
  ctx.range = ps::KeyRange{64, 128};
  ctx.width = spec.width;
  ctx.num_servers = 2;
  ctx.num_workers = 2;
  ps::TypedServerTable<float> table(spec, ctx, std::make_unique<ps::SumRule<float>>(), nullptr);
  switch (m.head.type) {
    case ps::MsgType::kPush:
      if (table.Push(m).ok()) table.FinalizeClock(m.head.clock);
      break;
    case ps::MsgType::kPull: {
      auto got = table.Pull(m);
      if (got.ok()) fuzz::Check(got->size() % (spec.width * sizeof(float)) == 0, "whole rows pulled");
      break;
    }
    default:
      table.FinalizeClock(m.head.clock);
  }
}

template <class T>
void Decode(const ps::Blob& control) {
  T value{};
  (void)ps::DecodeControl(control, &value);
}

void ToControl(const ps::Message& m) {
  switch (m.head.topic % 10) {
    case 0: return Decode<std::pair<int, std::string>>(m.control);  // a refusal or abort reason
    case 1: return Decode<sched::ShardPlan>(m.control);
    case 2: return Decode<worker::LoadReport>(m.control);
    case 3: return Decode<worker::FeatureSchema>(m.control);
    case 4: return Decode<models::kmeans::Summary>(m.control);
    case 5: return Decode<models::kmeans::SamplePart>(m.control);
    case 6: return Decode<models::kmeans::AssignChunk>(m.control);
    case 7: return Decode<models::kmeans::CandidatePart>(m.control);
    case 8: return Decode<std::vector<std::string>>(m.control);
    default: return Decode<std::vector<std::pair<std::uint64_t, std::vector<double>>>>(m.control);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ps::Message m;
  if (size < sizeof m.head) return 0;
  std::memcpy(&m.head, data, sizeof m.head);
  std::string_view rest = fuzz::Bytes(data + sizeof m.head, size - sizeof m.head);
  if (!ps::CheckHeader(m.head, kWorldSize).ok()) return 0;
  // The parts follow (a transport waits for exactly the announced sizes).
  const std::array<std::uint64_t, 3> bytes{m.head.key_bytes, m.head.value_bytes, m.head.control_bytes};
  std::array<ps::Blob*, 3> parts{&m.keys, &m.values, &m.control};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (bytes[i] > rest.size()) return 0;
    *parts[i] = ps::Blob::CopyOf(rest.data(), bytes[i]);
    rest.remove_prefix(bytes[i]);
  }
  switch (m.head.type) {
    case ps::MsgType::kPush:
    case ps::MsgType::kPull:
    case ps::MsgType::kClock:
      ToTable(m);
      break;
    case ps::MsgType::kRequestFailed:
    case ps::MsgType::kAbort:
      Decode<std::pair<int, std::string>>(m.control);
      break;
    case ps::MsgType::kControl:
      ToControl(m);
      break;
    default:
      break;
  }
  return 0;
}
