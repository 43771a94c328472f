// Control messages of the k-means job (topics 1200-1299) between its workers and the
// scheduler. Internal to models/kmeans.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "models/common/binary_metrics.h"
#include "models/kmeans/model.h"
#include "worker/user_shard.h"

namespace ecps::models::kmeans {

constexpr std::uint32_t kRowsTopic = 1200;        // worker <-> worker: forwarded rows
constexpr std::uint32_t kLoadTopic = 1201;        // workers -> scheduler: LoadReport
constexpr std::uint32_t kProgressTopic = 1204;    // worker 0 -> scheduler: PhaseReport
constexpr std::uint32_t kSummaryTopic = 1205;     // worker 0 -> scheduler: Summary
constexpr std::uint32_t kSampleTopic = 1206;      // workers -> scheduler: SamplePart
constexpr std::uint32_t kTopScoresTopic = 1207;   // workers -> scheduler: TopScores
constexpr std::uint32_t kAucTopic = 1208;         // workers -> scheduler: AucParts
constexpr std::uint32_t kAssignTopic = 1209;      // workers -> scheduler: AssignChunk
constexpr std::uint32_t kCheckpointTopic = 1210;  // workers -> scheduler: WorkerCheckpoint
constexpr std::uint32_t kResumeTopic = 1211;      // scheduler -> workers: WorkerCheckpoint
constexpr std::uint32_t kSeedSampleTopic = 1220;  // worker <-> worker: SeedSample

/// Worker 0 tells the scheduler where the job is; one per phase and per iteration.
struct PhaseReport {
  enum Kind : int { kNormalized = 0, kInitialized = 1, kIteration = 2, kTrained = 3 };
  int kind = kIteration;
  int iteration = 0;      ///< 1-based
  double inertia = 0;     ///< of the centroids the iteration started from
  double shift = 0;       ///< summed squared centroid movement
  std::uint64_t changed = 0;  ///< users whose cluster changed
  int relocated = 0;      ///< empty clusters re-seeded
  double seconds = 0;     ///< wall time of the phase or iteration
  bool checkpoint = false;  ///< every worker sent its checkpoint part after this iteration
  bool stop = false;  ///< and the run stops after that checkpoint (checkpoint-and-stop request)

  static PhaseReport Normalized(double seconds) {
    return {kNormalized, 0, 0, 0, 0, 0, seconds, false, false};
  }
  static PhaseReport Initialized(double seconds) {
    return {kInitialized, 0, 0, 0, 0, 0, seconds, false, false};
  }
  static PhaseReport Iteration(int iteration, double inertia, double shift, std::uint64_t changed,
                               int relocated, double seconds) {
    return {kIteration, iteration, inertia, shift, changed, relocated, seconds, false, false};
  }
  static PhaseReport Trained(int iterations, double inertia, double seconds) {
    return {kTrained, iterations, inertia, 0, 0, 0, seconds, false, false};
  }
  template <class A>
  void serialize(A& ar) {
    ar(kind, iteration, inertia, shift, changed, relocated, seconds, checkpoint, stop);
  }
};

/// Worker 0's view of the finished model (every worker holds the same).
struct Summary {
  std::uint64_t users = 0;
  std::vector<double> min, max, mean, variance;  ///< original units
  Normalizer normalizer;
  std::vector<double> initial_centroids;  ///< k x d, fitted
  std::vector<double> centroids;          ///< k x d, fitted (the model)
  std::vector<double> label_means;        ///< k x d, fitted: means of the final assignment
  std::vector<std::uint64_t> sizes;
  std::vector<double> mean_distance;
  double inertia = 0;
  int iterations = 0;
  bool converged = false;
  std::string stop_reason;
  double load_seconds = 0, normalize_seconds = 0, init_seconds = 0, train_seconds = 0;
  double finish_seconds = 0;  ///< the final assignment, distances and cluster totals
  std::vector<double> iteration_seconds;
  std::uint64_t init_candidates = 0;  ///< k-means|| candidates before reclustering
  std::uint64_t init_sample = 0;      ///< users that seeding read (all, or a uniform sample)
  int threads = 0;
  std::string kernel;
  Imputation impute;                   ///< --impute and the values used
  std::vector<std::uint64_t> missing;  ///< per feature: missing values in the training data
  std::uint64_t rows_dropped = 0;      ///< rows with a missing value (--impute drop)
  template <class A>
  void serialize(A& ar) {
    ar(impute, missing, rows_dropped);
    ar(users, min, max, mean, variance, normalizer, initial_centroids, centroids, label_means, sizes,
       mean_distance, inertia, iterations, converged, stop_reason, load_seconds, normalize_seconds,
       init_seconds, train_seconds, finish_seconds, iteration_seconds, init_candidates, init_sample,
       threads, kernel);
  }
};

/// A worker's part of the silhouette sample: its users with the smallest sample keys.
struct SamplePart {
  std::vector<double> keys, ties;
  std::vector<std::int32_t> labels;
  std::vector<double> x;  ///< n x d, fitted
  template <class A>
  void serialize(A& ar) { ar(keys, ties, labels, x); }
};

/// A worker's highest risk scores (score, tie = byte offset), best first.
struct TopScores {
  std::vector<double> scores, ties;
  template <class A>
  void serialize(A& ar) { ar(scores, ties); }
};

/// A worker's label counts by score, for the exact ROC AUC of both risk scores.
struct AucParts {
  ScoreCounts relative, distance;
  template <class A>
  void serialize(A& ar) { ar(relative, distance); }
};

/// Rows of assignments.csv from one worker, in input order: each row's text without its
/// line end ("id,cluster,distance", then ",score" with --anomaly-scores; no id when masked),
/// formatted on the worker; the scheduler merges the workers' rows by offset and adds the
/// anomaly flag (from the score and offset).
struct AssignChunk {
  bool last = false;
  std::vector<std::uint64_t> offsets;
  std::string text;
  std::vector<std::uint64_t> text_end;
  std::vector<double> scores;  ///< with --anomaly-scores only
  template <class A>
  void serialize(A& ar) { ar(last, offsets, text, text_end, scores); }
};

/// A worker's users in the seeding sample, in input order (norms: ||x||^2 as the worker has it).
struct SeedSample {
  std::vector<double> ties;
  std::vector<std::uint64_t> hashes;
  std::vector<double> norms;
  std::vector<double> x;  ///< n x d, fitted
  template <class A>
  void serialize(A& ar) { ar(ties, hashes, norms, x); }
};

/// Candidate points of one k-means|| round, from one worker, in input order. The job does not
/// send it (seeding runs on a gathered SeedSample); fuzz/ps_message.cc decodes it.
struct CandidatePart {
  std::vector<double> ties;
  std::vector<double> x;  ///< n x d, fitted
  template <class A>
  void serialize(A& ar) { ar(ties, x); }
};

}  // namespace ecps::models::kmeans
