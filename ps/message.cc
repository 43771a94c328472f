#include "ps/message.h"

#include <mutex>
#include <vector>

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

namespace {

// Freed large buffers kept for reuse: at most kMaxBuffers, kMaxBytes in all.
class BufferCache {
 public:
  static BufferCache& Get() {
    static BufferCache* cache = new BufferCache;  // never destroyed: blobs may outlive main
    return *cache;
  }
  // A cached buffer of between `bytes` and twice `bytes`, or null; sets *capacity.
  std::byte* Take(std::size_t bytes, std::size_t* capacity) {
    std::lock_guard lock(mu_);
    std::size_t best = buffers_.size();
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
      const std::size_t c = buffers_[i].second;
      if (c >= bytes && c / 2 <= bytes && (best == buffers_.size() || c < buffers_[best].second)) best = i;
    }
    if (best == buffers_.size()) return nullptr;
    auto [p, c] = buffers_[best];
    buffers_.erase(buffers_.begin() + static_cast<std::ptrdiff_t>(best));
    total_ -= c;
    *capacity = c;
    return p;
  }
  // Keeps `p` when there is room, else frees it.
  void Give(std::byte* p, std::size_t capacity) {
    {
      std::lock_guard lock(mu_);
      if (buffers_.size() < kMaxBuffers && total_ + capacity <= kMaxBytes) {
        buffers_.emplace_back(p, capacity);
        total_ += capacity;
        return;
      }
    }
    delete[] p;
  }

 private:
  static constexpr std::size_t kMaxBuffers = 8;
  static constexpr std::size_t kMaxBytes = std::size_t{512} << 20;
  std::mutex mu_;
  std::vector<std::pair<std::byte*, std::size_t>> buffers_;
  std::size_t total_ = 0;
};

}  // namespace

void Blob::Release::operator()(std::byte* p) const {
  if (capacity >= kReuseBytes) {
    BufferCache::Get().Give(p, capacity);
  } else {
    delete[] p;
  }
}

Blob Blob::Allocate(std::size_t bytes) {
  Blob b;
  if (bytes == 0) return b;
  std::size_t capacity = bytes;
  std::byte* p = bytes >= kReuseBytes ? BufferCache::Get().Take(bytes, &capacity) : nullptr;
  if (p == nullptr) p = new std::byte[bytes];  // uninitialised on purpose: filled by the caller
  b.owned_ = std::unique_ptr<std::byte[], Release>(p, Release{capacity});
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
