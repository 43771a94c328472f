#include "launch/memory.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace ecps::launch {

std::optional<std::uint64_t> ParseMemAvailable(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemAvailable:";
  std::size_t at = meminfo.find(kKey);
  if (at == std::string_view::npos || (at > 0 && meminfo[at - 1] != '\n')) return std::nullopt;
  std::string_view rest = meminfo.substr(at + kKey.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  std::uint64_t kib = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc() || p == rest.data()) return std::nullopt;
  rest.remove_prefix(static_cast<std::size_t>(p - rest.data()));
  if (rest.substr(0, 3) != " kB") return std::nullopt;  // the unit the kernel always writes
  return kib * 1024;
}

std::optional<std::uint64_t> AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return ParseMemAvailable(text.str());
}

std::string FormatBytes(std::uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 0x1p40) return fmt::format("{:.1f} TiB", b / 0x1p40);
  if (b >= 0x1p30) return fmt::format("{:.1f} GiB", b / 0x1p30);
  if (b >= 0x1p20) return fmt::format("{:.1f} MiB", b / 0x1p20);
  return fmt::format("{:.1f} KiB", b / 0x1p10);
}

Status CheckMemoryNeed(const MemoryNeed& need, std::optional<std::uint64_t> available, bool warn) {
  const std::string avail = available ? FormatBytes(*available) + " available" : "available memory unknown";
  if (available && need.bytes > *available) {
    return InvalidArgument(fmt::format("this job needs about {} of memory on this machine ({}), more than the {} "
                                       "available (MemAvailable); {}",
                                       FormatBytes(need.bytes), need.detail, FormatBytes(*available), need.remedy));
  }
  if (warn && (need.bytes >= kLargeMemoryBytes || (available && need.bytes > *available / 2))) {
    spdlog::warn("this job needs about {} of memory on this machine ({}; {})", FormatBytes(need.bytes), need.detail,
                 avail);
  }
  return Status::Ok();
}

}  // namespace ecps::launch
