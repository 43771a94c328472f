// This machine's available memory, and the check that compares a job's estimated needs with
// it before any rank starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ps/status.h"

namespace ecps::launch {

/// MemAvailable of `meminfo` (the text of /proc/meminfo) in bytes; nullopt when absent.
std::optional<std::uint64_t> ParseMemAvailable(std::string_view meminfo);
/// MemAvailable of this machine's /proc/meminfo; nullopt where it cannot be read.
std::optional<std::uint64_t> AvailableMemoryBytes();

/// "1.5 GiB", "512.0 MiB", "3.9 TiB".
std::string FormatBytes(std::uint64_t bytes);

/// Needs of a job on this machine, with the words that explain them.
struct MemoryNeed {
  /// What this machine will hold.
  std::uint64_t bytes = 0;
  /// How the figure is made up ("2^30 keys x 20 bytes on 1 server(s) + ...").
  std::string detail;
  /// What to change to need less ("lower --hash-bits").
  std::string remedy;
};

/// Needs of at least kLargeMemoryBytes, or of more than half of `available`, are logged as a
/// warning with the figure; needs above `available` are refused (kInvalidArgument naming the
/// figures and the remedy). Unknown `available`: warn only. `warn` false: no warning (the
/// ranks of an MPI job other than rank 0).
inline constexpr std::uint64_t kLargeMemoryBytes = std::uint64_t{1} << 30;
Status CheckMemoryNeed(const MemoryNeed& need, std::optional<std::uint64_t> available, bool warn = true);

}  // namespace ecps::launch
