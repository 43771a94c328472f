// Messages between nodes: a fixed-size header plus up to three byte arrays (keys, values,
// and a Cereal-serialized control payload), each sent as a raw buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <sstream>
#include <string>

#include <cereal/archives/binary.hpp>

#include "ps/bounded_archive.h"
#include "ps/status.h"
#include "ps/types.h"

namespace ecps::ps {

enum class MsgType : std::uint16_t {
  kPush = 1,        // worker -> server: keys (or a dense range) and values for a table
  kPushAck,         // server -> worker: the push was applied (or buffered for its clock)
  kPull,            // worker -> server: keys (or a dense range) whose values are wanted
  kPullReply,       // server -> worker: the values, in request order
  kRequestFailed,   // server -> worker: the request was refused; control = EncodeStatus(why)
  kClock,           // worker -> every server: the worker finished clock `clock`
  kBarrier,         // any -> scheduler: arrived at barrier `topic`
  kBarrierRelease,  // scheduler -> members: barrier `topic` is complete
  kHeartbeat,       // any -> scheduler and scheduler -> all: "still alive"
  kAbort,           // scheduler -> all (or any -> scheduler): stop the job; control = EncodeStatus
  kShutdown,        // scheduler -> all: the job finished normally
  kControl,         // any -> any: a model's Cereal payload on channel `topic`
};

const char* MsgTypeName(MsgType t);

/// Bits of MsgHeader::flags.
/// On kRequestFailed: the server refused the request because the job was already aborted, and
/// the reason is the job's abort reason (its root cause), not a fault of this request.
constexpr std::uint16_t kFlagJobAborted = 1;

/// Plain-old-data header; travels as raw bytes (both ends run the same binary).
struct MsgHeader {
  static constexpr std::uint32_t kMagic = 0xEC955001;
  std::uint32_t magic = kMagic;
  MsgType type = MsgType::kControl;
  std::uint16_t flags = 0;
  Rank sender = -1;
  Rank receiver = -1;
  TableId table = 0;
  std::uint32_t topic = 0;     // control channel or barrier id
  Clock clock = 0;             // sender's clock (push/pull/clock messages)
  std::uint64_t request = 0;   // request id, echoed in the reply
  Key range_begin = 0;         // dense-range requests: [range_begin, range_end)
  Key range_end = 0;
  std::uint64_t key_bytes = 0;
  std::uint64_t value_bytes = 0;
  std::uint64_t control_bytes = 0;
};
static_assert(std::is_trivially_copyable_v<MsgHeader>);

/// Checks a header received from a peer before its parts are read: the magic number, a known
/// message type, sender and receiver among the job's `world_size` ranks, and key bytes a whole
/// number of keys. InvalidArgument says what is wrong.
Status CheckHeader(const MsgHeader& head, int world_size);

/// Bytes that are either owned by the message or borrowed from the sender. A borrowed blob
/// points into memory the sender keeps alive and unchanged until the request it belongs to
/// has been answered (Push/Pull keep the caller's spans this way: no copy on the send path).
class Blob {
 public:
  Blob() = default;
  static Blob Borrow(const void* data, std::size_t bytes);
  /// Uninitialised owned storage of `bytes` bytes (16-byte aligned). Storage of at least
  /// kReuseBytes comes from a process-wide cache of freed large buffers where one fits
  /// (at most twice the size asked): memory already mapped and faulted in, so receiving a
  /// large message does not pay the kernel's page faults again (a third of a 10M-key pull).
  static Blob Allocate(std::size_t bytes);
  static constexpr std::size_t kReuseBytes = std::size_t{1} << 20;
  static Blob CopyOf(const void* data, std::size_t bytes);
  static Blob FromString(const std::string& s) { return CopyOf(s.data(), s.size()); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool owned() const { return owned_ != nullptr; }
  const std::byte* data() const { return data_; }
  /// Writable storage; only for owned blobs.
  std::byte* mutable_data() {
    assert(owned());
    return owned_.get();
  }
  template <class T>
  std::span<const T> As() const {
    return {reinterpret_cast<const T*>(data_), size_ / sizeof(T)};
  }
  template <class T>
  std::span<T> MutableAs() {
    return {reinterpret_cast<T*>(mutable_data()), size_ / sizeof(T)};
  }
  std::string_view View() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  // Frees the storage, or keeps it in the cache (large storage; `capacity` bytes).
  struct Release {
    std::size_t capacity;  // value-initialised (0) by an empty unique_ptr
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte[], Release> owned_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

struct Message {
  MsgHeader head;
  Blob keys;
  Blob values;
  Blob control;

  /// Sets the byte counts in `head` from the blobs; transports call it before sending.
  void SyncSizes() {
    head.key_bytes = keys.size();
    head.value_bytes = values.size();
    head.control_bytes = control.size();
  }
};

/// Serializes `value` with Cereal's binary archive into an owned blob.
template <class T>
Blob EncodeControl(const T& value) {
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive ar(os);
    ar(value);
  }
  return Blob::FromString(os.str());
}

/// Parses a blob written by EncodeControl; fails (not throws) on malformed bytes, before
/// allocating more than a small multiple of the blob's size (see BoundedInputArchive).
template <class T>
Status DecodeControl(const Blob& blob, T* value) {
  try {
    BoundedInputArchive ar(blob.View());
    ar(*value);
  } catch (const std::exception& e) {
    return Internal(std::string("malformed control payload: ") + e.what());
  }
  return Status::Ok();
}

/// A failed Status as a control payload: its code and its message travel together, so that
/// an error relayed by another rank keeps its code (and the exit code it maps to).
Blob EncodeStatus(const Status& s);
/// Reads a blob written by EncodeStatus. Bytes that do not hold a failed status (malformed,
/// an unknown code, or OK) give `unreadable`.
Status DecodeStatus(const Blob& blob, const Status& unreadable);

}  // namespace ecps::ps
