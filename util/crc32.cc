#include "util/crc32.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace ecps::util {

std::uint32_t Crc32(std::string_view bytes, std::uint32_t crc) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
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
