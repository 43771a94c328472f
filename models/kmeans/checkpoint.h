// Checkpoints of the k-means job (internal to models/kmeans; the folder format is
// models/common/checkpoint.h). After every --checkpoint-every-th Lloyd iteration that does
// not end the run, each worker sends its part to the scheduler, which writes
//   scheduler.bin  the iteration, the options a resumed run must share, the iterations'
//                  reports (metrics.jsonl is rebuilt from them);
//   worker-<i>.bin the worker's position: the iteration, the centroids it goes on from, the
//                  centroids its labels were assigned to, the initial centroids, and what
//                  identifies the data (user count, normaliser);
// then the manifest. The servers write nothing: between two clocks k-means' tables hold only
// what every worker pulled (the centroids, before re-seeding), and no update-rule state.
// Random choices are functions of (seed, round, user id), so there is no generator state.
// Every worker holds the same position, so a run resumes from worker 0's part with any number
// of workers or servers; its labels are recomputed from the saved centroids (exact).
// A checkpoint-and-stop request (models/common/checkpoint.h) on any worker makes the next
// iteration's checkpoint due on all of them (a column of the iteration's reduce); after
// writing it the scheduler ends the job with CheckpointStopped, and the workers wait for that.
#pragma once

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/kmeans/kmeans.h"
#include "models/kmeans/messages.h"
#include "util/files.h"
#include "util/output_folder.h"

namespace ecps::models::kmeans {

/// A worker's part, and what the scheduler sends every worker of a resumed run.
struct WorkerCheckpoint {
  int worker = 0;
  int iteration = 0;                      ///< Lloyd iterations done
  std::uint64_t users = 0;                ///< of this worker
  std::uint64_t total_users = 0;          ///< of all workers
  Normalizer normalizer;                  ///< identifies the data with total_users
  std::vector<double> centroids;          ///< k x d, fitted: where the next iteration starts
  std::vector<double> label_centroids;    ///< k x d: the centroids of the last labels
  std::vector<double> initial_centroids;  ///< k x d: Summary::initial_centroids
  std::uint64_t init_candidates = 0;
  std::vector<double> iteration_seconds;
  template <class A>
  void serialize(A& ar) {
    ar(worker, iteration, users, total_users, normalizer, centroids, label_centroids,
       initial_centroids, init_candidates, iteration_seconds);
  }
};

/// The scheduler's part.
struct SchedulerCheckpoint {
  int iteration = 0;
  int workers = 0;
  std::string config;  ///< CheckpointConfig as JSON text
  std::vector<PhaseReport> reports;
  template <class A>
  void serialize(A& ar) {
    ar(iteration, workers, config, reports);
  }
};

/// What a resumed scheduler starts from.
struct ResumePoint {
  std::string folder;
  SchedulerCheckpoint scheduler;
  WorkerCheckpoint worker0;
};

/// The options a resumed run must share with the checkpoint's run (the command-line names):
/// everything that changes the model or its outputs; not --out, the cluster's shape,
/// --threads, --quiet, the kernel or the checkpoint options.
nlohmann::json CheckpointConfig(const KMeansOptions& options);

/// The scheduler's side of checkpoints in one run: resuming, writing, and their figures.
class SchedulerCheckpoints {
 public:
  /// Locks --checkpoint-dir for this run (util::OutputLock: a second run writing there is
  /// refused); with --resume loads the checkpoint (LoadCheckpoint), sends worker 0's part to
  /// every worker and returns the saved iterations' reports. Without: no reports.
  Result<std::vector<PhaseReport>> Start(const KMeansOptions& options, ps::Node& node);
  /// When the last report asks for it: the checkpoint of its iteration (SaveCheckpoint);
  /// then, when the report says the run stops there, CheckpointStopped (the job ends with it).
  Status AfterIteration(const KMeansOptions& options, ps::Node& node,
                        const std::vector<PhaseReport>& reports);
  /// metrics.json's "checkpoints" object: written, seconds (spent writing), last_bytes,
  /// resumed_from.
  nlohmann::json Json() const;

 private:
  int written_ = 0;
  double seconds_ = 0;
  std::uint64_t last_bytes_ = 0;
  std::string resumed_from_;
  std::unique_ptr<util::OutputLock> lock_;
};

/// Scheduler: the newest valid checkpoint of options.checkpoint.ResumeFrom(), checked
/// against `options` (InvalidArgument naming the first option that differs).
Result<ResumePoint> LoadCheckpoint(const KMeansOptions& options, spdlog::logger& log);

/// Scheduler: collects every worker's part for `iteration` and writes the checkpoint with
/// `reports` (the iterations so far). Returns the bytes written.
Result<std::uint64_t> SaveCheckpoint(const KMeansOptions& options, ps::Node& node, int iteration,
                                     const std::vector<PhaseReport>& reports);

/// Worker: DataError unless this run's data (user count and normaliser) is the checkpoint's.
Status CheckResumedData(const WorkerCheckpoint& saved, std::uint64_t total_users,
                        const Normalizer& normalizer);

/// metrics.jsonl's line of a (non-private) iteration.
nlohmann::json IterationLine(const PhaseReport& r);

}  // namespace ecps::models::kmeans
