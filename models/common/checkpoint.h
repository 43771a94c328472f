// Checkpoints of a training run: one folder per clock, DIR/clock-<N>/, holding parts that the
// roles produce (the scheduler's clock and options, each worker's position, each server's
// table shard) and, written last, MANIFEST (every part's name, size and CRC-32). A folder
// without a manifest, or whose parts do not match it, is not a checkpoint. Parts and
// manifest are model files (models/common/model_file.h: magic, kind, format version, size,
// CRC-32, Cereal binary payload), written atomically. Only rank 0 writes: the other roles
// send their parts to it, so DIR need not be shared between machines.
//
// Used by a job's scheduler (CheckpointWriter) and, to resume, by its start
// (FindNewestCheckpoint, ReadCheckpointPart); the model decides what its parts hold.
#pragma once

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <cereal/archives/binary.hpp>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ps/bounded_archive.h"
#include "ps/status.h"

namespace ecps::models {

/// Checkpoint and stop: a request (SIGUSR1, see launch/interrupt.h) that a training writes a
/// checkpoint after its current clock and then stops, so that a job scheduler can requeue it.
/// The flag is process-wide; a model reads it once per clock and folds it into a value every
/// worker agrees on (k-means: the per-iteration reduce), so that all ranks checkpoint after
/// the same clock. A run without --checkpoint-dir, or whose current clock ends it, ignores it.
/// The run then ends with CheckpointStopped (every rank), which main maps to exit code 75.
inline constexpr int kCheckpointStopExitCode = 75;  // EX_TEMPFAIL: "try again later"
/// Sets the flag. Async-signal-safe (a lock-free atomic store).
void RequestCheckpointAndStop();
/// Whether RequestCheckpointAndStop was called since the start (or the last Clear).
bool CheckpointAndStopRequested();
/// Clears the flag (tests that run several trainings in one process).
void ClearCheckpointAndStopRequest();
/// kInterrupted: "stopped after writing checkpoint <folder> on request; continue with --resume".
Status CheckpointStopped(const std::string& folder);
/// Whether `s` (also with context added on its way up or across ranks) is CheckpointStopped's.
bool IsCheckpointStop(const Status& s);

/// The format version of manifests and of the parts' envelopes.
inline constexpr std::uint32_t kCheckpointFormat = 1;

/// --checkpoint-dir, --checkpoint-every, --checkpoint-keep, --resume.
struct CheckpointOptions {
  /// Folder of the checkpoints (one clock-<N> folder each); empty = no checkpoints.
  std::string dir;
  /// A checkpoint after every `every`-th clock (k-means: Lloyd iteration); >= 1. Unused
  /// when every_seconds > 0.
  int every = 10;
  /// A checkpoint after the first clock that ends at least this long after the run's
  /// start or its last checkpoint (--checkpoint-every 10m); 0 = by clocks.
  double every_seconds = 0;
  /// --checkpoint-every as given (ParseCheckpointEvery sets every or every_seconds from it).
  std::string every_text = "10";
  /// Complete checkpoints kept (older ones are removed); >= 1.
  int keep = 2;
  /// Start from the newest valid checkpoint of resume_dir (or of dir when empty).
  bool resume = false;
  std::string resume_dir;

  bool writes() const { return !dir.empty(); }
  /// The folder to resume from.
  const std::string& ResumeFrom() const { return resume_dir.empty() ? dir : resume_dir; }
  /// Ranges; --resume needs a folder; neither folder may lie inside `out` (the output folder
  /// is staged and replaced whole).
  Status Validate(const std::string& out) const;
};

/// Parses --checkpoint-every into `o`: a whole number of clocks (>= 1), or a time: a
/// positive number with the unit s, m or h (at most 1e6 s). InvalidArgument otherwise.
Status ParseCheckpointEvery(const std::string& text, CheckpointOptions* o);

/// One part as the manifest lists it.
struct CheckpointPartEntry {
  std::string name;
  std::uint64_t size = 0;
  std::uint32_t crc32 = 0;
  template <class A>
  void serialize(A& ar) {
    ar(name, size, crc32);
  }
};

struct CheckpointManifest {
  std::string job;  ///< "kmeans", "lr", ...
  std::uint64_t clock = 0;
  std::vector<CheckpointPartEntry> parts;
  template <class A>
  void serialize(A& ar) {
    ar(job, clock, parts);
  }
};

/// A valid checkpoint found on disk.
struct FoundCheckpoint {
  std::string folder;  ///< DIR/clock-<N>
  CheckpointManifest manifest;
};

/// "DIR/clock-<N>".
std::string CheckpointFolder(const std::string& dir, std::uint64_t clock);

/// Writes one checkpoint: Begin, AddPart for each part, Commit (the manifest, then pruning).
/// A writer destroyed before Commit leaves a folder without manifest, which readers skip and
/// the next Commit removes.
class CheckpointWriter {
 public:
  CheckpointWriter(std::string dir, std::string job, int keep)
      : dir_(std::move(dir)), job_(std::move(job)), keep_(keep) {}
  /// Starts the folder of `clock` (an old one of that clock is removed first).
  Status Begin(std::uint64_t clock);
  /// Writes `payload` as part `name` (a model file of kind `kind`, `version`).
  Status AddPart(const std::string& name, const std::string& kind, std::uint32_t version,
                 const std::string& payload);
  /// Writes the manifest (the checkpoint now exists), then removes complete checkpoints
  /// beyond the newest `keep` and every incomplete one older than this one.
  Status Commit();
  /// Bytes written by the last checkpoint (its parts and manifest).
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::string dir_, job_;
  int keep_;
  std::string folder_;
  CheckpointManifest manifest_;
  std::uint64_t bytes_ = 0;
};

/// A part's payload: `value` in Cereal binary.
template <class T>
std::string EncodeCheckpointPart(const T& value) {
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive ar(os);
    ar(value);
  }
  return os.str();
}

/// Decodes a payload of EncodeCheckpointPart into `value` (bounded: a damaged length cannot
/// make it allocate beyond the bytes); DataError naming `what` when it does not decode or
/// leaves bytes over.
template <class T>
Status DecodeCheckpointPart(std::string_view bytes, const std::string& what, T* value) {
  try {
    ps::BoundedInputArchive ar(bytes);
    ar(*value);
    if (ar.left() != 0) return DataError(what + ": trailing bytes");
  } catch (const std::exception& e) {
    return DataError(fmt::format("{}: does not decode ({})", what, e.what()));
  }
  return Status::Ok();
}

/// The newest valid checkpoint of `dir` for a `job` run: folders are tried from the highest
/// clock down; one without a manifest, with a missing, truncated or altered part, or with an
/// unreadable manifest is skipped with a warning on `log`. A valid checkpoint of another job
/// is refused (InvalidArgument naming both). None: NotFound naming `dir`.
Result<FoundCheckpoint> FindNewestCheckpoint(const std::string& dir, const std::string& job,
                                             spdlog::logger& log);

/// The payload of part `name` of `found` (checked again: size, CRC-32, kind, version).
Result<std::string> ReadCheckpointPart(const FoundCheckpoint& found, const std::string& name,
                                       const std::string& kind, std::uint32_t version);

}  // namespace ecps::models
