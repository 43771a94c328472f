// A trained logistic-regression model as written to DIR/model.bin: the feature space it was
// trained on (format, hashing, CSV columns and their standardisation) and its non-zero
// weights. Enough to parse new data exactly as in training and predict, with no other file.
//
// Also: feature names for the weights (from a featindex map or CSV column=value) and the
// JSON/CSV export of the non-zero weights.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "models/lr/lr_impute.h"
#include "privacy/sealed.h"
#include "ps/status.h"
#include "ps/table_shard.h"
#include "worker/example_parser.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

/// Standardisation of numeric CSV columns: x' = (t(x) - mean) * scale, where t is log1p for
/// columns marked `log` (non-negative in the training data: counts, durations, amounts,
/// whose heavy tails a linear model handles badly) and the identity otherwise.
struct NumericScaling {
  std::vector<double> mean;
  std::vector<double> scale;
  std::vector<std::uint8_t> log;
  bool empty() const { return mean.empty(); }
  double Apply(std::size_t j, double x) const {
    return ((log[j] ? std::log1p(std::max(x, 0.0)) : x) - mean[j]) * scale[j];
  }
  template <class A>
  void serialize(A& ar) { ar(mean, scale, log); }
};

/// Per-column sums over training rows, from which the scheduler derives NumericScaling.
struct NumericStats {
  std::vector<double> count, sum, sq, log_sum, log_sq, min;
  void Resize(std::size_t columns);
  /// Adds value x of column j.
  void Add(std::size_t j, double x);
  void Merge(const NumericStats& o);
  /// z-scores, of log1p(x) for columns whose minimum is >= 0 when `log_transform`.
  NumericScaling Scaling(bool log_transform) const;
  template <class A>
  void serialize(A& ar) { ar(count, sum, sq, log_sum, log_sq, min); }
};

/// Rescales the numeric-column values of `data` (keys >= parser.numeric_key(0)).
void ApplyScaling(const NumericScaling& s, const worker::ExampleParser& parser, worker::SparseData* data);

struct LrModel {
  static constexpr const char* kKind = "lr";
  /// 2 added the training history and the optimizer state (`epochs_trained` on); files of
  /// version 1 still load, without them.
  static constexpr std::uint32_t kVersion = 2;

  std::string algorithm;
  // The feature space (see worker::ExampleParser).
  std::uint8_t format = 0;  ///< worker::DataFormat
  int hash_bits = 22;
  std::uint64_t num_features = 0;
  bool bias = true;
  char delimiter = ',';
  worker::CsvColumns columns;
  NumericScaling scaling;
  std::uint64_t num_keys = 0;
  /// Non-zero weights, keys ascending.
  std::vector<std::uint32_t> keys;
  std::vector<float> weights;
  /// Epochs and clocks (mini-batches) of training behind the weights, warm starts included.
  std::uint32_t epochs_trained = 0;
  std::uint64_t clocks_trained = 0;
  /// The servers' table at the end of training (ps::TableShard over [0, num_keys): weight,
  /// then the rule's state: FTRL z and n, AdaGrad's accumulator) for `train lr --init-model`;
  /// empty (end 0) for SGD, whose state is the weights, and in version-1 files.
  ps::TableShard<float> state;
  /// With --featindex: the featindex names of the keys in `state` (or of the weights without
  /// it), keys ascending, several names of a key joined by " | " (FeatureNames), so that a
  /// warm start can refuse a featindex that gives a trained key another meaning.
  std::vector<std::uint32_t> name_keys;
  std::vector<std::string> names;
  /// --impute: what a missing numeric CSV value becomes (lr_impute.h), before the scaling.
  Imputation impute;

  template <class A>
  void serialize(A& ar) {
    SerializeV1(ar);
    ar(epochs_trained, clocks_trained, state, name_keys, names, impute);
  }
  /// The fields of a version-1 file.
  template <class A>
  void SerializeV1(A& ar) {
    ar(algorithm, format, hash_bits, num_features, bias, delimiter, columns, scaling, num_keys, keys, weights);
  }

  /// Records the parser's feature space.
  void SetFeatureSpace(const worker::ExampleParser& parser);
  /// A parser for `data_path` in the model's feature space (labels optional).
  Result<worker::ExampleParser> MakeParser(const std::string& data_path) const;
  /// The weights as a dense vector over the key space.
  std::vector<float> DenseWeights() const;
};

/// A parser for `data_path` in a saved feature space: `o` carries the model's format,
/// hashing, bias and label kind; CSV files are read by the training columns `columns`.
/// Labels are optional (prediction input).
Result<worker::ExampleParser> ScoringParser(worker::ParserOptions o, const worker::CsvColumns& columns,
                                            const std::string& data_path);

/// The number of keys (weights) of a saved feature space: its buckets (2^hash_bits, or
/// num_features for indexed libsvm/libffm; none for CSV without categorical columns), the
/// bias and one per numeric CSV column. An error (no path) for a feature space that
/// training would not accept: a format, hash_bits or num_features out of range.
Result<std::uint64_t> FeatureSpaceKeys(std::uint8_t format, int hash_bits,
                                       std::uint64_t num_features,
                                       const worker::CsvColumns& columns);

Status SaveLrModel(const std::string& path, const LrModel& model,
                   const privacy::EncryptionKey* key = nullptr);
/// Loads and checks a model: the feature space, num_keys against it, keys ascending below
/// num_keys, one finite weight per key, the scaling one finite entry per numeric column.
/// Refusals are DataErrors naming the file.
Result<LrModel> LoadLrModel(const std::string& path, const privacy::EncryptionKey* key = nullptr);

/// Probability of every row of `data_path` under `model`, in file order; with `offsets`, also
/// the byte offset of each row in the file (for row ids, row_ids.h).
Result<std::vector<float>> PredictFile(const LrModel& model, const std::string& data_path,
                                       std::vector<std::uint64_t>* offsets = nullptr);

/// Feature names by key; several names for one key (hash collisions) are joined with " | ".
class FeatureNames {
 public:
  void Add(std::uint32_t key, const std::string& name);
  /// The name, or "" when unknown.
  const std::string& Get(std::uint32_t key) const;
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::uint32_t, std::string> names_;
};

/// Names from a featindex file (`name<TAB>index` per line, e.g. "weekday:3\t2"), for
/// libsvm data whose indices it lists. Errors name the file and line.
Status AddFeatindexNames(const std::string& path, const worker::ExampleParser& parser, FeatureNames* names);
/// The name of `key` when libsvm/libffm indices are used as they are (--num-features): the
/// index itself; "" otherwise.
std::string DirectIndexName(const LrModel& model, std::uint32_t key);
/// CSV names: numeric columns by name, categorical values as "column=value".
void AddCsvNames(const worker::ExampleParser& parser, const std::vector<std::vector<std::string>>& categories,
                 FeatureNames* names);

/// Writes DIR/weights.csv (feature,key,weight) and/or DIR/weights.json, non-zero weights
/// sorted by decreasing |weight|; unknown names are empty (csv) or null (json). With `key`
/// (--encrypt-key) each file is sealed (models/common/sealed_output.h): it holds the model.
Status ExportWeights(const LrModel& model, const FeatureNames& names, const std::string& dir,
                     bool csv, bool json, const privacy::EncryptionKey* key = nullptr);

}  // namespace ecps::models::lr
