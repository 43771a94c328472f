// A trained k-means model: the feature schema, the normalisation, the centroids (in the
// normalised space the model was fitted in) and the per-cluster statistics that risk scores
// need. Saved with models/common/model_file.h (format version + CRC-32) as DIR/model.bin and
// used by `ecps segment` to assign new users.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "privacy/pseudonym.h"
#include "privacy/sealed.h"
#include "ps/status.h"
#include "worker/feature_csv.h"

namespace ecps::models::kmeans {

enum class Normalize : std::uint8_t { kMinMax = 0, kZScore = 1, kNone = 2 };
const char* NormalizeName(Normalize n);

/// Per-feature affine map into the fitted space: fitted = (x - shift) / scale.
struct Normalizer {
  Normalize kind = Normalize::kMinMax;
  std::vector<double> shift, scale;

  /// From the column statistics of the training data. Constant columns (min == max) get
  /// scale 1, so they become 0 (minmax: x - min; zscore: x - mean) instead of dividing by 0.
  static Normalizer Fit(Normalize kind, const std::vector<double>& min, const std::vector<double>& max,
                        const std::vector<double>& mean, const std::vector<double>& variance);
  /// Maps `n` rows of d values in place.
  void Apply(double* x, std::size_t n) const;
  /// Back to the original units (for profiles).
  double Original(std::size_t f, double fitted) const { return fitted * scale[f] + shift[f]; }

  template <class A>
  void serialize(A& ar) { ar(kind, shift, scale); }
};

/// --impute: what an empty numeric field becomes. kNone: an error (a bad row).
enum class Impute : std::uint8_t { kNone = 0, kMean = 1, kMedian = 2, kZero = 3, kDrop = 4 };
const char* ImputeName(Impute m);

/// Missing numeric values: per output feature the value that replaces them (original units;
/// the training data's mean or lower median, or 0); kDrop: rows with one are skipped.
struct Imputation {
  Impute kind = Impute::kNone;
  std::vector<double> values;  ///< d values (kMean, kMedian, kZero), else empty

  /// Fills the NaNs of one row of d values; false when the row is to be dropped.
  bool Fill(double* x, std::size_t d) const;

  template <class A>
  void serialize(A& ar) { ar(kind, values); }
};

struct KMeansModel {
  /// 2 adds `impute`; version 1 files load with no imputation.
  static constexpr std::uint32_t kFormatVersion = 2;
  static constexpr const char* kKind = "kmeans";

  worker::FeatureSchema schema;
  Normalizer normalizer;
  std::uint64_t k = 0, d = 0;
  std::vector<double> centroids;      ///< k x d, fitted space
  std::vector<std::uint64_t> sizes;   ///< training users per cluster
  std::vector<double> mean_distance;  ///< mean distance of a cluster's users to its centroid
  /// Risk scores at or above this are flagged (the training run's top --anomaly-rate share);
  /// +inf when the model was trained without --anomaly-scores.
  double anomaly_threshold = std::numeric_limits<double>::infinity();
  /// "relative" (distance / the cluster's mean distance) or "distance".
  std::string score = "relative";
  Imputation impute;

  template <class A>
  void serialize(A& ar) {
    SerializeV1(ar);
    ar(impute);
  }
  template <class A>
  void SerializeV1(A& ar) {
    ar(schema, normalizer, k, d, centroids, sizes, mean_distance, anomaly_threshold, score);
  }

  /// Checks the sizes of the parts against k and d (a model that decodes but does not fit
  /// together is refused).
  Status Check() const;
  /// Risk score of a user at `distance` from centroid `cluster`: distance / that cluster's
  /// mean distance (0 when the mean is 0), or the distance itself (score "distance").
  double Score(std::size_t cluster, double distance) const;
};

/// `key` (may be null): seal the file, or open a sealed one (models/common/model_file.h).
Status SaveKMeansModel(const std::string& path, const KMeansModel& model,
                       const privacy::EncryptionKey* key = nullptr);
Result<KMeansModel> LoadKMeansModel(const std::string& path,
                                    const privacy::EncryptionKey* key = nullptr);

/// `ecps segment`: assigns every row of `data` (a CSV with the model's id and feature columns)
/// to its nearest centroid and writes id,cluster,distance,score,anomaly to `out` ("-" =
/// stdout); missing numeric values are filled as the model's `impute` says (kDrop: skipped,
/// counted in `skipped`). Bad rows fail (file:line: column ...) unless skip_bad_rows. Returns
/// rows written; `skipped` gets the bad rows skipped, `excluded` the rows of opted-out users dropped.
struct SegmentOptions {
  std::string model_dir;
  std::string data;
  std::string out = "-";
  bool skip_bad_rows = false;
  int threads = 0;
  /// --encrypt-key: opens a sealed model.bin; null = the model must be plain.
  std::shared_ptr<const privacy::EncryptionKey> encrypt;
  /// --pseudonymize-key/--exclude-users: each id (line ids too) is replaced by its pseudonym
  /// as it is read, as `train kmeans` does, and opted-out users' rows are dropped; null = ids
  /// as they are.
  std::shared_ptr<const privacy::IdFilter> ids;
};
Result<std::uint64_t> Segment(const SegmentOptions& options, std::uint64_t* skipped = nullptr,
                              std::uint64_t* excluded = nullptr);

}  // namespace ecps::models::kmeans
