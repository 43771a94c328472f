#include "models/common/output.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace ecps::models {
namespace fs = std::filesystem;

Status PrepareOutputDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError(fmt::format("output folder {}: {}", dir, ec.message()));
  if (!fs::is_directory(dir)) return IoError(fmt::format("output folder {}: not a folder", dir));
  if (access(dir.c_str(), W_OK) != 0) return IoError(fmt::format("output folder {}: not writable", dir));
  return Status::Ok();
}

Result<std::unique_ptr<AtomicWriter>> AtomicWriter::Open(const std::string& path) {
  fs::path p(path);
  std::string tmp = (p.parent_path() / ("." + p.filename().string() + ".tmp" + std::to_string(getpid()))).string();
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return IoError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  return std::unique_ptr<AtomicWriter>(new AtomicWriter(path, std::move(tmp), f));
}

AtomicWriter::~AtomicWriter() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

Status AtomicWriter::Write(std::string_view bytes) {
  if (!f_) return FailedPrecondition(path_ + ": already committed");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size()) {
    failed_ = true;
    return IoError(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
  }
  return Status::Ok();
}

Status AtomicWriter::Commit() {
  if (!f_) return FailedPrecondition(path_ + ": already committed");
  if (failed_) return IoError(path_ + ": an earlier write failed");
  bool ok = std::fflush(f_) == 0 && fsync(fileno(f_)) == 0;
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp_.c_str());
    return IoError(fmt::format("{}: cannot finish writing: {}", path_, why));
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view content) {
  ECPS_ASSIGN_OR_RETURN(auto w, AtomicWriter::Open(path));
  ECPS_RETURN_IF_ERROR(w->Write(content));
  return w->Commit();
}

std::string DumpJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status WriteJsonFile(const std::string& path, const nlohmann::json& j) {
  return WriteFileAtomic(path, DumpJson(j, 2) + "\n");
}

Result<std::unique_ptr<JsonLinesLog>> JsonLinesLog::Open(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  if (access(dir.c_str(), W_OK) != 0) {
    return IoError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesLog>(new JsonLinesLog(path));
}

JsonLinesLog::~JsonLinesLog() {
  if (f_) std::fclose(f_);
}

Status JsonLinesLog::Create() {
  if (f_) return Status::Ok();
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_) return IoError(fmt::format("{}: cannot create: {}", path_, std::strerror(errno)));
  return Status::Ok();
}

Status JsonLinesLog::Close() { return Create(); }

Status JsonLinesLog::Append(const nlohmann::json& line) {
  ECPS_RETURN_IF_ERROR(Create());
  std::string s = DumpJson(line) + "\n";
  if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() || std::fflush(f_) != 0) {
    return IoError(fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
  }
  return Status::Ok();
}

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

}  // namespace ecps::models
