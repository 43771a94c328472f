// Basic vocabulary of the parameter server: keys, ranks, clocks and deadlines.
#pragma once

#include <chrono>
#include <cstdint>

namespace ecps::ps {

/// A parameter key. Tables own a bounded range [begin, end) of keys; sparse features are
/// hashed into that range first (util::HashToBucket in util/hash.h).
using Key = std::uint64_t;
/// Rank of a process (MPI) or of a thread-node (single-node mode) in the job.
using Rank = int;
/// Small integer naming a table inside a job; assigned by the model's table list.
using TableId = std::uint32_t;
/// Number of Clock() calls a worker has completed. A push issued at clock t belongs to t.
using Clock = std::int64_t;

using SteadyClock = std::chrono::steady_clock;
/// 128-bit unsigned integer for overflow-free a*b/c on 64-bit values (GCC/Clang builtin).
__extension__ using U128 = unsigned __int128;

/// Every blocking call takes a deadline: an absolute point in steady time.
using Deadline = SteadyClock::time_point;

/// A deadline `seconds` from now.
inline Deadline DeadlineIn(double seconds) {
  return SteadyClock::now() +
         std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
}

/// Seconds left until `d` (negative when it has passed).
inline double SecondsLeft(Deadline d) {
  return std::chrono::duration<double>(d - SteadyClock::now()).count();
}

}  // namespace ecps::ps
