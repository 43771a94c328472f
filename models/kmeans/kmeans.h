// Distributed k-means user segmentation on the parameter server, with risk scores.
//
// Workers own users by a hash of the user id (worker/user_shard.h), normalise them with
// column statistics aggregated on the servers, pick initial centroids (k-means++, k-means||
// or a file), and run Lloyd iterations: each clock a worker assigns its users to the nearest
// centroid and pushes per-cluster fixed-point sums and counts; the servers' finalizer turns
// them into the next centroids (models/kmeans/tables.h). Empty clusters are re-seeded with the
// farthest points. The scheduler writes the outputs: assignments.csv, profiles.csv/.json in
// original units, metrics.json (inertia, silhouette, Davies-Bouldin, ROC AUC of the risk
// score when a label column is given), metrics.jsonl (one line per iteration) and model.bin.
//
// Every random choice is a function of (seed, round, user id) and every sum is exact, so the
// same seed and data give bit-identical centroids and outputs for any number of workers,
// servers and threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/common/checkpoint.h"
#include "models/kmeans/dp.h"
#include "models/kmeans/kernel.h"
#include "models/kmeans/model.h"
#include "models/kmeans/tables.h"
#include "privacy/pseudonym.h"
#include "privacy/sealed.h"
#include "scheduler/job.h"
#include "worker/feature_csv.h"

namespace ecps::models::kmeans {

/// Where the initial centroids come from.
enum class InitMethod { kPlusPlus, kParallel, kFile };
/// "kmeans++", "kmeans-parallel" or "file" (metrics.json and the log).
const char* InitMethodName(InitMethod method);

/// The risk score of a user.
enum class RiskScore { kRelative, kDistance };
/// "relative" or "distance" (metrics.json, the model file).
const char* RiskScoreName(RiskScore score);

struct KMeansOptions {
  /// CSV file with a header; one row per user.
  std::string data;
  /// Id, feature, encoding and label columns.
  worker::FeatureColumnsOptions columns;
  /// Skip (and count) rows with missing or malformed values instead of failing.
  bool skip_bad_rows = false;
  /// Empty numeric fields: an error (kNone), or filled / dropped (model.h Imputation).
  Impute impute = Impute::kNone;
  /// Number of clusters.
  std::uint64_t k = 8;
  /// minmax (to [0, 1]), zscore, or none.
  Normalize normalize = Normalize::kMinMax;
  /// k-means++, k-means||, or init_file.
  InitMethod init = InitMethod::kPlusPlus;
  /// With InitMethod::kFile: a CSV file of k initial centroids in original units whose header
  /// names the features.
  std::string init_file;
  /// k-means|| rounds (Spark's initializationSteps).
  int init_steps = 2;
  /// k-means|| oversampling factor l (expected points per round); 0 = 2k.
  double oversampling = 0;
  /// Lloyd iterations at most.
  int max_iter = 300;
  /// Stop when the summed squared centroid movement is <= tol * the mean feature variance
  /// (scikit-learn's rule), or when no assignment changes.
  double tol = 1e-4;
  std::uint64_t seed = 42;
  /// Output folder.
  std::string out;
  /// Write a risk score per row and flag the top anomaly_rate share.
  bool anomaly_scores = false;
  /// The risk score: relative = distance to the nearest centroid / that cluster's mean
  /// distance; distance = the distance itself.
  RiskScore score = RiskScore::kRelative;
  double anomaly_rate = 0.01;
  /// Write hierarchy.json: Ward agglomeration of the centroids (models/kmeans/hierarchy.h).
  bool hierarchy = false;
  /// Users in the seeded sample for the silhouette score (0 = skip it).
  std::uint64_t silhouette_sample = 5000;
  /// No progress display.
  bool quiet = false;
  /// Which compute kernels may run (tests and benchmarks; every kind gives the same bits).
  KernelKind kernel = KernelKind::kAuto;
  /// Pseudonymised ids and opt-outs, applied by the reader (worker/user_shard.h); null = ids
  /// as they are. metrics.json then has excluded_rows and pseudonymized.
  std::shared_ptr<const privacy::IdFilter> ids;
  /// Output columns to drop: "id" (or the id column's name) leaves the ids out of
  /// assignments.csv, whose rows stay in input order.
  std::vector<std::string> mask_columns;
  /// True when mask_columns names the id.
  bool MasksIds() const;
  /// Differential privacy (models/kmeans/dp.h); resolved by PrepareDp.
  DpKMeansOptions dp;
  /// --encrypt-key: model.bin and assignments.csv are sealed (privacy/sealed.h); null = plain.
  std::shared_ptr<const privacy::EncryptionKey> encrypt;
  /// --checkpoint-dir, --checkpoint-every (Lloyd iterations), --checkpoint-keep, --resume
  /// (models/kmeans/checkpoint.h).
  CheckpointOptions checkpoint;

  /// Checks ranges, and that init_file exists with InitMethod::kFile.
  Status Validate() const;
  /// The options that metrics.json lists under "config".
  nlohmann::json ToJson() const;
};

/// What the scheduler holds after a successful run (also written to --out).
struct KMeansResult {
  KMeansModel model;
  nlohmann::json metrics;
  std::vector<double> initial_centroids;  ///< k x d, fitted space
};

class KMeansJob final : public sched::Job {
 public:
  /// `schema` = FeatureSchema::Make(options.columns), made once by the caller.
  KMeansJob(KMeansOptions options, worker::FeatureSchema schema);

  std::string name() const override { return "kmeans"; }
  /// BSP only: each iteration needs the previous one's centroids. Static so that the
  /// command line can offer only what the job accepts.
  static sched::ConsistencyNeed Consistency() {
    return {{ps::Consistency::Mode::kBsp}, "each iteration needs the previous one's centroids"};
  }
  sched::ConsistencyNeed NeededConsistency() const override { return Consistency(); }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;

  /// Scheduler only, after a successful run.
  const KMeansResult& result() const { return result_; }

 private:
  KMeansOptions options_;
  worker::FeatureSchema schema_;
  TableLayout layout_;
  KMeansResult result_;
  struct SchedulerState;
  std::shared_ptr<SchedulerState> state_;
};

/// Validates the options and makes the schema; the command and tests call it first.
Result<worker::FeatureSchema> PrepareKMeans(const KMeansOptions& options);

/// With options->dp.enabled(): refuses what a private run cannot do (--normalize other than
/// minmax, --one-hot, --ordinal, --label-column, --anomaly-scores, k-means|| options are
/// ignored), parses the bounds and plans the noise for exactly --max-iter iterations; makes
/// the run private (silhouette off, score "distance"). A no-op otherwise. After PrepareKMeans.
Status PrepareDp(KMeansOptions* options, const worker::FeatureSchema& schema);

}  // namespace ecps::models::kmeans
