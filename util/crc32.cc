#include "util/crc32.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace ecps::util {

std::uint32_t Crc32(std::string_view bytes, std::uint32_t crc) {
  // zlib's CRC-32 (the same polynomial and conditioning), several bytes per step.
  const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
  uLong c = crc;
  for (std::size_t left = bytes.size(); left > 0;) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    c = crc32(c, p, n);
    p += n;
    left -= n;
  }
  return static_cast<std::uint32_t>(c);
}

std::uint32_t Crc32Combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b) {
  return static_cast<std::uint32_t>(
      crc32_combine64(crc_a, crc_b, static_cast<z_off64_t>(length_b)));
}

Result<std::pair<std::uint32_t, std::uint64_t>> FileCrc32(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return IoError(fmt::format("{}: {}", path, std::strerror(errno)));
  std::vector<char> buf(1 << 20);
  std::uint32_t crc = 0;
  std::uint64_t size = 0;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) {
    crc = Crc32({buf.data(), n}, crc);
    size += n;
  }
  std::fclose(f);
  return std::make_pair(crc, size);
}

}  // namespace ecps::util
