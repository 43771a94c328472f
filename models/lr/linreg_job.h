// Linear regression through the normal equations (`ecps train linreg`).
//
// Workers load their shard and compute the partial sums X'X (upper triangle), X'y, n, sum y
// and sum y^2 over their training rows with oneTBB, and push them once into a summing table
// (servers hold it by key range). After a worker barrier, worker 0 pulls the totals and
// sends them to the scheduler, which solves (X'X + l2 * I') b = X'y with Eigen (I' skips the
// intercept): LDLT when the matrix is positive definite, a complete orthogonal
// decomposition (minimum-norm least squares) otherwise. Workers then score their evaluation
// rows and send RMSE/MAE/R^2 partials. With --impute (CSV) a first round computes the fills
// from every worker's training rows as `train lr` does (lr_impute.h) and the workers apply
// them to their training and evaluation rows before the sums.
//
// The columns are the parser's key space (buckets, intercept, numeric CSV columns): meant
// for dense problems of up to a few thousand columns (memory ~ 8 bytes x columns^2 per
// worker thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/vector.hpp>
#include <nlohmann/json.hpp>

#include "models/lr/lr_data.h"
#include "models/lr/lr_impute.h"
#include "scheduler/job.h"
#include "worker/example_parser.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

/// The options of `train linreg`; `out` holds model.bin, coefficients.csv and metrics.json.
struct LinRegOptions : DataOptions {
  /// Ridge strength (not applied to the intercept).
  double l2 = 1e-6;
  std::uint64_t seed = 1;
  /// Largest column count accepted.
  std::uint64_t max_columns = 8192;
  /// --impute: missing numeric CSV values (lr_impute.h), as `train lr` does.
  ImputeMode impute = ImputeMode::kNone;

  /// Checks the options (the job sets parser.label_kind to real-valued labels first).
  Status Validate() const;
  /// The options as metrics.json holds them: "evaluated_on" and "l2".
  nlohmann::json ToJson() const;
};

/// Sums of one shard: the normal equations' parts. `xtx` is the upper triangle, row-major
/// packed (d * (d + 1) / 2 values).
struct NormalSums {
  std::uint64_t d = 0;
  std::vector<double> xtx;
  std::vector<double> xty;
  double n = 0, sum_y = 0, sum_y2 = 0;
};
/// Computes the sums over every row of `data` with `d` columns (keys < d), in parallel.
NormalSums ComputeNormalSums(const worker::SparseData& data, std::uint64_t d);
/// Solves (X'X + l2 * I') b = X'y; `intercept` (< d, or d for none) is not regularised.
Result<std::vector<double>> SolveNormal(const NormalSums& sums, double l2, std::uint64_t intercept);

/// Regression error partials, mergeable.
struct RegressionEval {
  double n = 0, sse = 0, sae = 0, sum_y = 0, sum_y2 = 0;
  static RegressionEval From(const worker::SparseData& data, const std::vector<double>& coef);
  void Merge(const RegressionEval& o);
  /// rmse, mae, r2, examples.
  nlohmann::json ToJson() const;
  template <class A>
  void serialize(A& ar) { ar(n, sse, sae, sum_y, sum_y2); }
};

/// A trained linear model: the feature space, its coefficients and --impute's fills (model.bin,
/// kind "linreg"; version 1 files, without the fills, load as kNone).
struct LinRegModel {
  static constexpr const char* kKind = "linreg";
  static constexpr std::uint32_t kVersion = 2;
  std::uint8_t format = 0;
  int hash_bits = 8;
  std::uint64_t num_features = 0;
  bool bias = true;
  char delimiter = ',';
  worker::CsvColumns columns;
  std::vector<double> coef;
  Imputation impute;
  template <class A>
  void SerializeV1(A& ar) { ar(format, hash_bits, num_features, bias, delimiter, columns, coef); }
  template <class A>
  void serialize(A& ar) {
    SerializeV1(ar);
    ar(impute);
  }
};

Result<LinRegModel> LoadLinRegModel(const std::string& path,
                                    const privacy::EncryptionKey* key = nullptr);
/// The predicted value of every row of `data_path` under `model`, in file order (NaN for a row
/// a kDrop model cannot score); with
/// `offsets`, also the byte offset of each row in the file (for row ids, row_ids.h).
Result<std::vector<double>> PredictLinRegFile(const LinRegModel& model,
                                              const std::string& data_path,
                                              std::vector<std::uint64_t>* offsets = nullptr);

class LinRegJob final : public sched::Job {
 public:
  /// Takes `options` with parser.label_kind set to real-valued labels.
  explicit LinRegJob(LinRegOptions options);
  std::string name() const override { return "linreg"; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;

  /// Whether the options and the training file's header make a valid job.
  const Status& init_status() const { return init_; }
  const nlohmann::json& metrics() const { return metrics_; }
  const std::vector<double>& coefficients() const { return coef_; }

 private:
  std::uint64_t columns() const;
  LinRegOptions options_;
  Status init_;
  std::unique_ptr<worker::ExampleParser> parser_;
  nlohmann::json metrics_;
  std::vector<double> coef_;
  std::vector<std::vector<std::string>> categories_;  // scheduler: csv category names
  Imputation impute_;                                 // --impute with its fills
};

}  // namespace ecps::models::lr
