#include "ps/message.h"

#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <fmt/format.h>

namespace ecps::ps {

const char* MsgTypeName(MsgType t) {
  switch (t) {
    case MsgType::kPush: return "push";
    case MsgType::kPushAck: return "push-ack";
    case MsgType::kPull: return "pull";
    case MsgType::kPullReply: return "pull-reply";
    case MsgType::kRequestFailed: return "request-failed";
    case MsgType::kClock: return "clock";
    case MsgType::kBarrier: return "barrier";
    case MsgType::kBarrierRelease: return "barrier-release";
    case MsgType::kHeartbeat: return "heartbeat";
    case MsgType::kAbort: return "abort";
    case MsgType::kShutdown: return "shutdown";
    case MsgType::kControl: return "control";
  }
  return "?";
}

Status CheckHeader(const MsgHeader& head, int world_size) {
  if (head.magic != MsgHeader::kMagic) {
    return InvalidArgument(fmt::format("bad magic number {:#x} (mixed ecps versions?)", head.magic));
  }
  const auto type = static_cast<std::uint16_t>(head.type);
  if (type < static_cast<std::uint16_t>(MsgType::kPush) || type > static_cast<std::uint16_t>(MsgType::kControl)) {
    return InvalidArgument(fmt::format("unknown message type {}", type));
  }
  if (head.sender < 0 || head.sender >= world_size || head.receiver < 0 || head.receiver >= world_size) {
    return InvalidArgument(fmt::format("{} message from rank {} to rank {} in a job of {} ranks",
                                       MsgTypeName(head.type), head.sender, head.receiver, world_size));
  }
  if (head.key_bytes % sizeof(Key) != 0) {
    return InvalidArgument(fmt::format("{} message with {} key bytes, not a whole number of keys",
                                       MsgTypeName(head.type), head.key_bytes));
  }
  return Status::Ok();
}

Blob Blob::Borrow(const void* data, std::size_t bytes) {
  Blob b;
  b.data_ = static_cast<const std::byte*>(data);
  b.size_ = bytes;
  return b;
}

Blob Blob::Allocate(std::size_t bytes) {
  Blob b;
  if (bytes == 0) return b;
  b.owned_.reset(new std::byte[bytes]);  // uninitialised on purpose: filled by the caller
  b.data_ = b.owned_.get();
  b.size_ = bytes;
  return b;
}

Blob Blob::CopyOf(const void* data, std::size_t bytes) {
  Blob b = Allocate(bytes);
  if (bytes) std::memcpy(b.owned_.get(), data, bytes);
  return b;
}

Blob EncodeStatus(const Status& s) {
  return EncodeControl(std::pair<int, std::string>(static_cast<int>(s.code()), s.message()));
}

Status DecodeStatus(const Blob& blob, const Status& unreadable) {
  std::pair<int, std::string> v;
  if (!DecodeControl(blob, &v).ok()) return unreadable;
  if (v.first <= static_cast<int>(StatusCode::kOk) || v.first > static_cast<int>(StatusCode::kLastCode)) {
    return unreadable;
  }
  return {static_cast<StatusCode>(v.first), std::move(v.second)};
}

}  // namespace ecps::ps
