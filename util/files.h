// Writing a run's outputs without ever leaving half a file: every file is written under a
// temporary name in its folder and renamed into place when complete, at its path in the
// staging folder while a StagedOutput (util/output_folder.h) stages it; JSON text.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ps/status.h"

namespace ecps::util {

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
  AtomicWriter(std::string path, std::string dest, std::string tmp, std::FILE* f)
      : path_(std::move(path)), dest_(std::move(dest)), tmp_(std::move(tmp)), f_(f) {}
  std::string path_;
  std::string dest_;  // StagedPath(path_)
  std::string tmp_;
  std::FILE* f_;
  bool failed_ = false;
};

/// Removes the temporary files of every AtomicWriter still open in this process. For a
/// process about to die by a signal (launch/interrupt.cc), so that it leaves no
/// `.NAME.tmpPID` behind; the writers must not be used afterwards.
void RemoveUnfinishedFiles();
/// The same, for a signal handler (util/mapped_input.cc): does nothing when another thread
/// holds the list's lock at that moment, instead of waiting for it.
void RemoveUnfinishedFilesIfFree();

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
  JsonLinesLog(std::string path, std::string file)
      : path_(std::move(path)), file_(std::move(file)) {}
  std::string path_;
  std::string file_;  // StagedPath(path_)
  std::FILE* f_ = nullptr;
};

}  // namespace ecps::util
