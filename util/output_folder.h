// A run's output folder: used by one run at a time (OutputLock) and written privately, its
// files moved into place only when the run succeeds (StagedOutput).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ps/status.h"

namespace ecps::util {

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
///   - while the StagedOutput lives, PrepareOutputDir and the writers of util/files.h
///     (AtomicWriter, WriteFileAtomic, WriteJsonFile, JsonLinesLog) write every path under
///     `dir` (as the same string prefix) into the staging folder instead;
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

}  // namespace ecps::util
