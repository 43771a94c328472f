// Writing a run's outputs without ever leaving half a file: every file is written under a
// temporary name in its folder and renamed into place when complete.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ps/status.h"

namespace ecps::models {

/// Creates `dir` (and its parents) and checks that it is writable; errors name the folder.
Status PrepareOutputDir(const std::string& dir);

/// A file written in pieces that appears under its name only when Commit() succeeds. If the
/// writer is destroyed first (an error on the way), the temporary file is removed.
class AtomicWriter {
 public:
  static Result<std::unique_ptr<AtomicWriter>> Open(const std::string& path);
  ~AtomicWriter();
  Status Write(std::string_view bytes);
  /// Flushes, syncs and renames the file into place.
  Status Commit();
  const std::string& path() const { return path_; }

 private:
  AtomicWriter(std::string path, std::string tmp, std::FILE* f) : path_(std::move(path)), tmp_(std::move(tmp)), f_(f) {}
  std::string path_;
  std::string tmp_;
  std::FILE* f_;
  bool failed_ = false;
};

/// Writes a whole file atomically.
Status WriteFileAtomic(const std::string& path, std::string_view content);
/// `j` as JSON text (indented by `indent` spaces, one line when negative). Every JSON text
/// ecps writes or prints goes through here: bytes that are not UTF-8 (from a CSV header, a
/// data value or a path) become U+FFFD instead of making the serialiser throw.
std::string DumpJson(const nlohmann::json& j, int indent = -1);
/// Writes `j` as indented JSON, atomically.
Status WriteJsonFile(const std::string& path, const nlohmann::json& j);

/// metrics.jsonl: one JSON object per line, flushed after each line so that progress made
/// before a crash stays readable. The file is replaced at the first line, not when opened:
/// a run that fails before it has anything to log leaves an earlier run's file alone.
class JsonLinesLog {
 public:
  /// Checks that `path` can be written (its folder exists); creates nothing yet.
  static Result<std::unique_ptr<JsonLinesLog>> Open(const std::string& path);
  ~JsonLinesLog();
  Status Append(const nlohmann::json& line);
  /// Creates the file (empty) if no line was appended: a finished run with nothing to log.
  Status Close();

 private:
  Status Create();
  explicit JsonLinesLog(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::FILE* f_ = nullptr;
};

/// CRC-32 (IEEE 802.3, as zlib's crc32 and `python3 -c 'import zlib'`), continued from `crc`.
std::uint32_t Crc32(std::string_view bytes, std::uint32_t crc = 0);
/// CRC-32 and size of a file, for manifests.
Result<std::pair<std::uint32_t, std::uint64_t>> FileCrc32(const std::string& path);

}  // namespace ecps::models
