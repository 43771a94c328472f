// CRC-32 of bytes and of files, for model files and manifests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "ps/status.h"

namespace ecps::util {

/// CRC-32 (IEEE 802.3, as zlib's crc32 and `python3 -c 'import zlib'`), continued from `crc`.
std::uint32_t Crc32(std::string_view bytes, std::uint32_t crc = 0);
/// The CRC-32 of bytes A then B from Crc32(A), Crc32(B) and B's length (no pass over the bytes).
std::uint32_t Crc32Combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b);
/// CRC-32 and size of a file, for manifests.
Result<std::pair<std::uint32_t, std::uint64_t>> FileCrc32(const std::string& path);

}  // namespace ecps::util
