// Writing a run's outputs without ever leaving half a file: every file is written under a
// temporary name in its folder and renamed into place when complete; a whole run's folder is
// written privately (StagedOutput) and its files moved into place when the run succeeds.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ps/status.h"

namespace ecps::models {

/// Exclusive use of an output folder by one run (of any process on this host, or on any
/// host of a file system whose flock works across hosts): an flock on `.<name>.ecps-lock`
/// beside the folder, created when needed and removed on release; the file holds the pid of
/// the run that holds it. The lock dies with its process (even by SIGKILL).
class OutputLock {
 public:
  /// Takes the lock for `dir` (creating the folders above `dir` when needed). A folder
  /// already locked: kInvalidArgument "output folder X is in use by another ecps run (pid N)".
  static Result<std::unique_ptr<OutputLock>> Acquire(const std::string& dir);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  OutputLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

/// A run's output folder `dir`, written privately and published at the end:
///   - Begin() takes the OutputLock of `dir` and makes an empty staging folder
///     `.<name>.ecps-staging` beside it (removing one a killed run left);
///   - while the StagedOutput lives, this header's writers (PrepareOutputDir, AtomicWriter,
///     WriteFileAtomic, WriteJsonFile, JsonLinesLog) write every path under `dir` (as the
///     same string prefix) into the staging folder instead;
///   - Publish() moves the staged files into `dir`: a `dir` that did not exist appears whole
///     (one rename); in an existing one each staged file replaces the file of its name, and
///     files the run did not write stay;
///   - destroyed unpublished (failure, interrupt): the staging folder and the folders Begin
///     created above it are removed; `dir` is as it was.
class StagedOutput {
 public:
  static Result<std::unique_ptr<StagedOutput>> Begin(const std::string& dir);
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;
  Status Publish();
  const std::string& staging() const { return staging_; }

 private:
  StagedOutput(std::string dir, std::string target, std::string staging,
               std::unique_ptr<OutputLock> lock, std::vector<std::string> created_parents);
  std::string dir_;     // as the run names it (the redirected prefix)
  std::string target_;  // the folder itself, normalised
  std::string staging_;
  std::unique_ptr<OutputLock> lock_;
  std::vector<std::string> created_parents_;  // deepest first
  bool published_ = false;
};

/// `path` as this process writes it: under a StagedOutput's folder, the same path in its
/// staging folder; otherwise `path`.
std::string StagedPath(const std::string& path);

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

/// CRC-32 (IEEE 802.3, as zlib's crc32 and `python3 -c 'import zlib'`), continued from `crc`.
std::uint32_t Crc32(std::string_view bytes, std::uint32_t crc = 0);
/// CRC-32 and size of a file, for manifests.
Result<std::pair<std::uint32_t, std::uint64_t>> FileCrc32(const std::string& path);

}  // namespace ecps::models
