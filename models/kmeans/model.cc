#include "models/kmeans/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "models/common/model_file.h"
#include "models/kmeans/kernel.h"
#include "util/files.h"
#include "worker/line_reader.h"

namespace ecps::models::kmeans {

const char* NormalizeName(Normalize n) {
  switch (n) {
    case Normalize::kMinMax: return "minmax";
    case Normalize::kZScore: return "zscore";
    case Normalize::kNone: return "none";
  }
  return "?";
}

const char* ImputeName(Impute m) {
  switch (m) {
    case Impute::kNone: return "none";
    case Impute::kMean: return "mean";
    case Impute::kMedian: return "median";
    case Impute::kZero: return "zero";
    case Impute::kDrop: return "drop";
  }
  return "?";
}

bool Imputation::Fill(double* x, std::size_t d) const {
  for (std::size_t f = 0; f < d; ++f) {
    if (!std::isnan(x[f])) continue;
    if (values.empty()) return false;
    x[f] = values[f];
  }
  return true;
}

Normalizer Normalizer::Fit(Normalize kind, const std::vector<double>& min, const std::vector<double>& max,
                           const std::vector<double>& mean, const std::vector<double>& variance) {
  Normalizer n;
  n.kind = kind;
  const std::size_t d = min.size();
  n.shift.assign(d, 0.0);
  n.scale.assign(d, 1.0);
  for (std::size_t f = 0; f < d; ++f) {
    const bool constant = !(max[f] > min[f]);
    switch (kind) {
      case Normalize::kMinMax:
        n.shift[f] = min[f];
        n.scale[f] = constant ? 1.0 : max[f] - min[f];
        break;
      case Normalize::kZScore: {
        n.shift[f] = mean[f];
        const double sd = std::sqrt(variance[f]);
        n.scale[f] = constant || !(sd > 0) || !std::isfinite(sd) ? 1.0 : sd;
        break;
      }
      case Normalize::kNone:
        break;
    }
  }
  return n;
}

void Normalizer::Apply(double* x, std::size_t n) const {
  const std::size_t d = shift.size();
  if (kind == Normalize::kNone) return;
  for (std::size_t i = 0; i < n; ++i) {
    double* r = x + i * d;
    for (std::size_t f = 0; f < d; ++f) r[f] = (r[f] - shift[f]) / scale[f];
  }
}

Status KMeansModel::Check() const {
  auto bad = [](const std::string& what) { return DataError("inconsistent model: " + what); };
  if (k == 0 || d == 0 || sizes.size() != k || mean_distance.size() != k || d != schema.dim() ||
      centroids.size() != k * d || normalizer.shift.size() != d || normalizer.scale.size() != d) {
    return bad(fmt::format(
        "the k-means model's parts do not fit together (k {}, d {}, schema {} features)", k, d,
        schema.dim()));
  }
  std::size_t width = 0;
  for (const auto& c : schema.columns()) {
    switch (c.kind) {
      case worker::ColumnEncoding::Kind::kNumeric:
      case worker::ColumnEncoding::Kind::kOrdinal:
        width += 1;
        break;
      case worker::ColumnEncoding::Kind::kOneHot:
        width += c.categories.size();
        break;
      default:
        return bad(fmt::format("column \"{}\" has an unknown encoding", c.column));
    }
  }
  if (width != d) {
    return bad(fmt::format("the columns encode {} features, the model has {}", width, d));
  }
  if (normalizer.kind != Normalize::kMinMax && normalizer.kind != Normalize::kZScore &&
      normalizer.kind != Normalize::kNone) {
    return bad("unknown normalisation");
  }
  auto finite = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  if (!finite(centroids) || !finite(mean_distance) || !finite(normalizer.shift) ||
      !finite(normalizer.scale) ||
      std::any_of(normalizer.scale.begin(), normalizer.scale.end(),
                  [](double x) { return x == 0; })) {
    return bad("a centroid, distance or normalisation value is not finite (or a scale is 0)");
  }
  const bool valued = impute.kind == Impute::kMean || impute.kind == Impute::kMedian ||
                      impute.kind == Impute::kZero;
  if (impute.values.size() != (valued ? d : 0) || !finite(impute.values) ||
      static_cast<std::uint8_t>(impute.kind) > static_cast<std::uint8_t>(Impute::kDrop)) {
    return bad("imputation");
  }
  if (std::isnan(anomaly_threshold) || (score != "relative" && score != "distance")) {
    return bad("anomaly threshold or score kind");
  }
  return Status::Ok();
}

double KMeansModel::Score(std::size_t cluster, double distance) const {
  if (score == "distance") return distance;
  const double m = mean_distance[cluster];
  return m > 0 ? distance / m : 0.0;
}

Status SaveKMeansModel(const std::string& path, const KMeansModel& model,
                       const privacy::EncryptionKey* key) {
  return SaveModel(path, KMeansModel::kKind, KMeansModel::kFormatVersion, model, key);
}

namespace {

// A format-version-1 file: the model without `impute`.
struct ModelV1 {
  KMeansModel* m;
  template <class A>
  void serialize(A& ar) { m->SerializeV1(ar); }
};

}  // namespace

Result<KMeansModel> LoadKMeansModel(const std::string& path, const privacy::EncryptionKey* key) {
  KMeansModel m;
  Status s = LoadModel(path, KMeansModel::kKind, KMeansModel::kFormatVersion, &m, key);
  if (!s.ok()) {
    m = KMeansModel();
    ModelV1 v1{&m};
    if (!LoadModel(path, KMeansModel::kKind, 1, &v1, key).ok()) return s;
  }
  ECPS_RETURN_IF_ERROR(m.Check().WithContext(path));
  return m;
}

Result<std::uint64_t> Segment(const SegmentOptions& o, std::uint64_t* skipped,
                              std::uint64_t* excluded) {
  ECPS_ASSIGN_OR_RETURN(std::string path, ModelFileIn(o.model_dir, "model.bin"));
  ECPS_ASSIGN_OR_RETURN(KMeansModel model, LoadKMeansModel(path, o.encrypt.get()));
  worker::FeatureSchema schema = model.schema;
  schema.DropLabel();
  ECPS_ASSIGN_OR_RETURN(auto parser, worker::FeatureRowParser::Open(schema, o.data));
  parser.set_missing_as_nan(model.impute.kind != Impute::kNone);
  ECPS_ASSIGN_OR_RETURN(auto reader, worker::LineReader::OpenFile(o.data, schema.records()));

  std::unique_ptr<util::AtomicWriter> file;
  std::FILE* stdout_sink = nullptr;
  if (o.out == "-") {
    stdout_sink = stdout;
  } else {
    ECPS_ASSIGN_OR_RETURN(file, util::AtomicWriter::Open(o.out));
  }
  auto write = [&](std::string_view s) -> Status {
    if (file) return file->Write(s);
    if (std::fwrite(s.data(), 1, s.size(), stdout_sink) != s.size()) return IoError("stdout: write failed");
    return Status::Ok();
  };
  ECPS_RETURN_IF_ERROR(write("id,cluster,distance,score,anomaly\n"));

  const std::size_t d = model.d;
  CentroidPanel panel;
  panel.Set(model.centroids, model.k, d);
  tbb::task_arena arena(o.threads > 0 ? o.threads : tbb::task_arena::automatic);
  constexpr std::size_t kBatch = 1 << 16;
  std::vector<std::string> ids;
  std::vector<double> x, norms, d2;
  std::vector<std::int32_t> labels;
  std::uint64_t written = 0, bad = 0, dropped = 0;

  auto flush = [&]() -> Status {
    const std::size_t n = ids.size();
    if (n == 0) return Status::Ok();
    norms.resize(n);
    d2.resize(n);
    labels.resize(n);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 2048), [&](const tbb::blocked_range<std::size_t>& r) {
        const std::size_t b = r.begin(), m = r.end() - r.begin();
        SquaredNorms(x.data() + b * d, m, d, norms.data() + b);
        Assign(x.data() + b * d, norms.data() + b, m, panel, labels.data() + b, d2.data() + b);
        for (std::size_t i = b; i < r.end(); ++i) {
          const auto c = static_cast<std::size_t>(labels[i]);
          d2[i] = std::sqrt(SquaredDistance(x.data() + i * d, model.centroids.data() + c * d, d));
        }
      });
    });
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<std::size_t>(labels[i]);
      const double score = model.Score(c, d2[i]);
      out += fmt::format("{},{},{:.17g},{:.17g},{}\n", ids[i], c, d2[i], score,
                         score >= model.anomaly_threshold ? 1 : 0);
    }
    written += n;
    ids.clear();
    x.clear();
    return write(out);
  };

  std::vector<double> row(d);
  std::string_view line;
  std::string line_id, kept_id;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    if (reader->offset() == 0 || worker::Trim(line).empty()) continue;
    std::string_view id;
    int label = 0;
    Status s = parser.Parse(line, &id, row.data(), &label);
    if (!s.ok()) {
      if (!o.skip_bad_rows) return s.WithContext(reader->Where());
      ++bad;
      continue;
    }
    if (!model.impute.Fill(row.data(), d)) {
      ++bad;
      continue;
    }
    if (schema.line_ids()) {
      line_id = std::to_string(reader->LineNumber());
      id = line_id;
    }
    if (o.ids) {
      if (!o.ids->Map(id, &kept_id)) {
        ++dropped;
        continue;
      }
      id = kept_id;
    }
    model.normalizer.Apply(row.data(), 1);
    ids.emplace_back(id);
    x.insert(x.end(), row.begin(), row.end());
    if (ids.size() >= kBatch) ECPS_RETURN_IF_ERROR(flush());
  }
  ECPS_RETURN_IF_ERROR(flush());
  if (file) ECPS_RETURN_IF_ERROR(file->Commit());
  if (stdout_sink) std::fflush(stdout_sink);
  if (skipped) *skipped = bad;
  if (excluded) *excluded = dropped;
  return written;
}

}  // namespace ecps::models::kmeans
