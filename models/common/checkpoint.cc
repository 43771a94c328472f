#include "models/common/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string_view>

#include "models/common/model_file.h"
#include "util/crc32.h"

namespace ecps::models {
namespace fs = std::filesystem;
namespace {
std::atomic<bool> g_checkpoint_and_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);
constexpr std::string_view kStopPhrase = "stopped after writing checkpoint ";

constexpr const char* kManifest = "MANIFEST";
constexpr const char* kManifestKind = "ckpt-manifest";
constexpr const char* kPrefix = "clock-";

// The clocks of DIR's clock-<N> folders, highest first.
std::vector<std::uint64_t> ClocksIn(const std::string& dir) {
  std::vector<std::uint64_t> clocks;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory(ec) || name.rfind(kPrefix, 0) != 0) continue;
    const char* b = name.data() + std::char_traits<char>::length(kPrefix);
    const char* end = name.data() + name.size();
    std::uint64_t clock = 0;
    const auto [p, err] = std::from_chars(b, end, clock);
    if (err == std::errc() && p == end && b != end) clocks.push_back(clock);
  }
  std::sort(clocks.rbegin(), clocks.rend());
  return clocks;
}

bool Inside(const std::string& path, const std::string& folder) {
  if (path.empty() || folder.empty()) return false;
  const fs::path p = fs::absolute(path).lexically_normal(),
                 f = fs::absolute(folder).lexically_normal();
  auto pi = p.begin();
  for (auto fi = f.begin(); fi != f.end(); ++fi, ++pi) {
    if (fi->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *fi) return false;
  }
  return true;
}

Result<CheckpointManifest> ReadManifest(const std::string& folder) {
  ECPS_ASSIGN_OR_RETURN(std::string payload,
                        LoadModelFile(folder + "/" + kManifest, kManifestKind, kCheckpointFormat));
  CheckpointManifest m;
  try {
    ps::BoundedInputArchive ar(payload);
    ar(m);
  } catch (const std::exception& e) {
    return DataError(fmt::format("{}/{}: does not decode ({})", folder, kManifest, e.what()));
  }
  return m;
}

// Every part of `m` is in `folder` with its size and CRC-32.
Status CheckParts(const std::string& folder, const CheckpointManifest& m) {
  for (const auto& part : m.parts) {
    const std::string path = folder + "/" + part.name;
    auto crc = util::FileCrc32(path);
    if (!crc.ok())
      return DataError(fmt::format("part {} missing ({})", part.name, crc.status().message()));
    if (crc->second != part.size) {
      return DataError(fmt::format("part {} has {} bytes, the manifest says {}", part.name,
                                   crc->second, part.size));
    }
    if (crc->first != part.crc32) {
      return DataError(fmt::format("part {} does not match its checksum", part.name));
    }
  }
  return Status::Ok();
}
}  // namespace

Status ParseCheckpointEvery(const std::string& text, CheckpointOptions* o) {
  const auto bad = [&] {
    return InvalidArgument(fmt::format(
        "--checkpoint-every: \"{}\" is neither a number of clocks (>= 1) nor a time such as "
        "30s, 10m or 2h (at most 1e6 s)",
        text));
  };
  const char* b = text.data();
  const char* end = b + text.size();
  const char unit = text.empty() ? '\0' : text.back();
  if (unit == 's' || unit == 'm' || unit == 'h') {
    double v = 0;
    const auto [p, err] = std::from_chars(b, end - 1, v);
    const double seconds = v * (unit == 'h' ? 3600 : unit == 'm' ? 60 : 1);
    if (err != std::errc() || p != end - 1 || !(seconds > 0 && seconds <= 1e6)) return bad();
    o->every_seconds = seconds;
    return Status::Ok();
  }
  int n = 0;
  const auto [p, err] = std::from_chars(b, end, n);
  if (err != std::errc() || p != end || n < 1) return bad();
  o->every = n;
  o->every_seconds = 0;
  return Status::Ok();
}

Status CheckpointOptions::Validate(const std::string& out) const {
  if (every < 1) return InvalidArgument("--checkpoint-every must be at least 1");
  if (keep < 1) return InvalidArgument("--checkpoint-keep must be at least 1");
  if (resume && ResumeFrom().empty()) {
    return InvalidArgument("--resume needs a folder: --resume DIR, or --checkpoint-dir DIR");
  }
  for (const std::string* d : {&dir, &resume_dir}) {
    if (Inside(*d, out)) {
      return InvalidArgument(fmt::format(
          "checkpoint folder {} lies inside --out {} (the outputs are replaced as a whole)", *d,
          out));
    }
  }
  return Status::Ok();
}

void RequestCheckpointAndStop() { g_checkpoint_and_stop.store(true); }
bool CheckpointAndStopRequested() { return g_checkpoint_and_stop.load(); }
void ClearCheckpointAndStopRequest() { g_checkpoint_and_stop.store(false); }

Status CheckpointStopped(const std::string& folder) {
  return Interrupted(fmt::format("{}{} on request; continue with --resume", kStopPhrase, folder));
}

bool IsCheckpointStop(const Status& s) {
  return s.code() == StatusCode::kInterrupted && s.message().find(kStopPhrase) != std::string::npos;
}

std::string CheckpointFolder(const std::string& dir, std::uint64_t clock) {
  return fmt::format("{}/{}{}", dir, kPrefix, clock);
}

Status CheckpointWriter::Begin(std::uint64_t clock) {
  folder_ = CheckpointFolder(dir_, clock);
  manifest_ = CheckpointManifest{job_, clock, {}};
  bytes_ = 0;
  std::error_code ec;
  fs::remove_all(folder_, ec);
  if (ec) return IoError(fmt::format("{}: cannot remove ({})", folder_, ec.message()));
  fs::create_directories(folder_, ec);
  if (ec) return IoError(fmt::format("{}: cannot create ({})", folder_, ec.message()));
  return Status::Ok();
}

Status CheckpointWriter::AddPart(const std::string& name, const std::string& kind,
                                 std::uint32_t version, const std::string& payload) {
  const std::string path = folder_ + "/" + name;
  ECPS_RETURN_IF_ERROR(SaveModelFile(path, kind, version, payload));
  // The file's size and checksum without reading it back: its header, then the payload.
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec || size < payload.size()) return IoError(fmt::format("{}: cannot read back", path));
  std::string header(size - payload.size(), '\0');
  std::FILE* f = std::fopen(path.c_str(), "rb");
  const bool read = f != nullptr && std::fread(header.data(), 1, header.size(), f) == header.size();
  if (f != nullptr) std::fclose(f);
  if (!read) return IoError(fmt::format("{}: cannot read back", path));
  manifest_.parts.push_back(
      {name, size, util::Crc32Combine(util::Crc32(header), util::Crc32(payload), payload.size())});
  bytes_ += size;
  return Status::Ok();
}

Status CheckpointWriter::Commit() {
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive ar(os);
    ar(manifest_);
  }
  ECPS_RETURN_IF_ERROR(
      SaveModelFile(folder_ + "/" + kManifest, kManifestKind, kCheckpointFormat, os.str()));
  bytes_ += os.str().size();
  // This one counts as the first kept; newer folders (another run's) are left alone.
  int complete = 1;
  for (std::uint64_t clock : ClocksIn(dir_)) {
    if (clock >= manifest_.clock) continue;
    const std::string folder = CheckpointFolder(dir_, clock);
    if (fs::exists(folder + "/" + kManifest) && ++complete <= keep_) continue;
    std::error_code ec;
    fs::remove_all(folder, ec);  // best effort: a leftover is skipped by readers
  }
  return Status::Ok();
}

Result<FoundCheckpoint> FindNewestCheckpoint(const std::string& dir, const std::string& job,
                                             spdlog::logger& log) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(fmt::format("--resume: {}: no such folder", dir));
  for (std::uint64_t clock : ClocksIn(dir)) {
    const std::string folder = CheckpointFolder(dir, clock);
    if (!fs::exists(folder + "/" + kManifest, ec)) {
      log.warn("checkpoint {}: no manifest (incomplete); trying an older one", folder);
      continue;
    }
    auto m = ReadManifest(folder);
    if (!m.ok()) {
      log.warn("checkpoint {}: {}; trying an older one", folder, m.status().message());
      continue;
    }
    if (Status s = CheckParts(folder, *m); !s.ok()) {
      log.warn("checkpoint {}: {}; trying an older one", folder, s.message());
      continue;
    }
    if (m->job != job || m->clock != clock) {
      return InvalidArgument(
          fmt::format("--resume: checkpoint {} is of a train {} job (clock {}), "
                      "not of train {}",
                      folder, m->job, m->clock, job));
    }
    return FoundCheckpoint{folder, std::move(m).value()};
  }
  return NotFound(fmt::format("--resume: no valid checkpoint in {}", dir));
}

Result<std::string> ReadCheckpointPart(const FoundCheckpoint& found, const std::string& name,
                                       const std::string& kind, std::uint32_t version) {
  const auto& parts = found.manifest.parts;
  const auto it =
      std::find_if(parts.begin(), parts.end(), [&](const auto& p) { return p.name == name; });
  if (it == parts.end()) {
    return DataError(
        fmt::format("checkpoint {}: the manifest lists no part {}", found.folder, name));
  }
  CheckpointManifest one{found.manifest.job, found.manifest.clock, {*it}};
  ECPS_RETURN_IF_ERROR(CheckParts(found.folder, one).WithContext("checkpoint " + found.folder));
  return LoadModelFile(found.folder + "/" + name, kind, version);
}

}  // namespace ecps::models
