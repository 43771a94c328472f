#include "util/files.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "util/output_folder.h"

namespace ecps::util {
namespace fs = std::filesystem;

namespace {

// The temporary files of the AtomicWriters that are open in this process, for
// RemoveUnfinishedFiles() (a signal that ends the process).
std::mutex g_unfinished_mu;
std::vector<std::string>& Unfinished() {
  static auto* files = new std::vector<std::string>;  // never destroyed: used at exit
  return *files;
}
void TrackUnfinished(const std::string& tmp) {
  std::lock_guard lock(g_unfinished_mu);
  Unfinished().push_back(tmp);
}
void ForgetUnfinished(const std::string& tmp) {
  std::lock_guard lock(g_unfinished_mu);
  auto& v = Unfinished();
  if (auto it = std::find(v.begin(), v.end(), tmp); it != v.end()) v.erase(it);
}

}  // namespace

void RemoveUnfinishedFiles() {
  std::lock_guard lock(g_unfinished_mu);
  for (const auto& tmp : Unfinished()) std::remove(tmp.c_str());
  Unfinished().clear();
}

void RemoveUnfinishedFilesIfFree() {
  std::unique_lock lock(g_unfinished_mu, std::try_to_lock);
  if (!lock.owns_lock()) return;
  for (const auto& tmp : Unfinished()) ::unlink(tmp.c_str());
}

Result<std::unique_ptr<AtomicWriter>> AtomicWriter::Open(const std::string& path) {
  std::string dest = StagedPath(path);
  fs::path p(dest);
  std::string tmp = (p.parent_path() / ("." + p.filename().string() + ".tmp" + std::to_string(getpid()))).string();
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return IoError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  TrackUnfinished(tmp);
  return std::unique_ptr<AtomicWriter>(new AtomicWriter(path, std::move(dest), std::move(tmp), f));
}

AtomicWriter::~AtomicWriter() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
    ForgetUnfinished(tmp_);
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
  const bool renamed = ok && std::rename(tmp_.c_str(), dest_.c_str()) == 0;
  const std::string why = std::strerror(errno);
  if (!renamed) std::remove(tmp_.c_str());
  ForgetUnfinished(tmp_);
  if (!renamed) return IoError(fmt::format("{}: cannot finish writing: {}", path_, why));
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
  std::string file = StagedPath(path);
  const fs::path dir =
      fs::path(file).parent_path().empty() ? fs::path(".") : fs::path(file).parent_path();
  if (access(dir.c_str(), W_OK) != 0) {
    return IoError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesLog>(new JsonLinesLog(path, std::move(file)));
}

JsonLinesLog::~JsonLinesLog() {
  if (f_) std::fclose(f_);
}

Status JsonLinesLog::Create() {
  if (f_) return Status::Ok();
  f_ = std::fopen(file_.c_str(), "wb");
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

}  // namespace ecps::util
