#include "models/lr/lr_model.h"

#include <algorithm>
#include <utility>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/common/csv_field.h"
#include "models/common/model_file.h"
#include "models/common/sealed_output.h"
#include "models/lr/lr_kernels.h"
#include "models/lr/row_ids.h"
#include "util/files.h"
#include "worker/line_reader.h"

namespace ecps::models::lr {

void ApplyScaling(const NumericScaling& s, const worker::ExampleParser& parser, worker::SparseData* data) {
  if (s.empty() || data->rows() == 0) return;
  const std::uint64_t first = parser.numeric_key(0);
  data->TransformValues([&](std::uint32_t k, float v) {
    if (k < first) return v;
    const std::size_t j = k - first;
    return static_cast<float>(s.Apply(j, v));
  });
}

void NumericStats::Resize(std::size_t columns) {
  for (auto* v : {&count, &sum, &sq, &log_sum, &log_sq}) v->assign(columns, 0.0);
  min.assign(columns, std::numeric_limits<double>::infinity());
}

void NumericStats::Add(std::size_t j, double x) {
  count[j] += 1;
  sum[j] += x;
  sq[j] += x * x;
  const double l = std::log1p(std::max(x, 0.0));
  log_sum[j] += l;
  log_sq[j] += l * l;
  min[j] = std::min(min[j], x);
}

void NumericStats::Merge(const NumericStats& o) {
  if (count.empty()) Resize(o.count.size());
  for (std::size_t j = 0; j < o.count.size() && j < count.size(); ++j) {
    count[j] += o.count[j];
    sum[j] += o.sum[j];
    sq[j] += o.sq[j];
    log_sum[j] += o.log_sum[j];
    log_sq[j] += o.log_sq[j];
    min[j] = std::min(min[j], o.min[j]);
  }
}

NumericScaling NumericStats::Scaling(bool log_transform) const {
  NumericScaling s;
  for (std::size_t j = 0; j < count.size(); ++j) {
    const double n = count[j];
    const bool log = log_transform && n > 0 && min[j] >= 0;
    const double mean = n > 0 ? (log ? log_sum[j] : sum[j]) / n : 0;
    const double var = n > 0 ? std::max(0.0, (log ? log_sq[j] : sq[j]) / n - mean * mean) : 0;
    s.mean.push_back(mean);
    s.scale.push_back(var > 0 ? 1.0 / std::sqrt(var) : 1.0);
    s.log.push_back(log ? 1 : 0);
  }
  return s;
}

void LrModel::SetFeatureSpace(const worker::ExampleParser& parser) {
  const auto& o = parser.options();
  format = static_cast<std::uint8_t>(o.format);
  hash_bits = o.hash_bits;
  num_features = o.num_features;
  bias = o.bias;
  delimiter = o.delimiter;
  columns = parser.csv_columns();
  num_keys = parser.num_keys();
}

Result<worker::ExampleParser> LrModel::MakeParser(const std::string& data_path) const {
  worker::ParserOptions o;
  o.format = static_cast<worker::DataFormat>(format);
  o.hash_bits = hash_bits;
  o.num_features = num_features;
  o.bias = bias;
  o.delimiter = delimiter;
  return ScoringParser(o, columns, data_path);
}

Result<worker::ExampleParser> ScoringParser(worker::ParserOptions o, const worker::CsvColumns& columns,
                                            const std::string& data_path) {
  o.label_optional = true;
  if (o.format != worker::DataFormat::kCsv) return worker::ExampleParser::Make(o);
  o.label_column = columns.label;
  ECPS_ASSIGN_OR_RETURN(std::string header, worker::ReadFirstRecord(data_path, worker::CsvRecords(o.delimiter)));
  return worker::ExampleParser::MakeCsv(o, columns, header, data_path);
}

std::vector<float> LrModel::DenseWeights() const {
  std::vector<float> w(num_keys, 0.0f);
  for (std::size_t i = 0; i < keys.size(); ++i) w[keys[i]] = weights[i];
  return w;
}

Status SaveLrModel(const std::string& path, const LrModel& model,
                   const privacy::EncryptionKey* key) {
  return SaveModel(path, LrModel::kKind, LrModel::kVersion, model, key);
}

Result<std::uint64_t> FeatureSpaceKeys(std::uint8_t format, int hash_bits,
                                       std::uint64_t num_features,
                                       const worker::CsvColumns& columns) {
  if (format > static_cast<std::uint8_t>(worker::DataFormat::kCsv)) {
    return DataError(fmt::format("data format {} is unknown", format));
  }
  if (hash_bits < 1 || hash_bits > 30) {
    return DataError(fmt::format("hash_bits {} is outside 1..30", hash_bits));
  }
  if (num_features >= (std::uint64_t{1} << 31)) {
    return DataError(fmt::format("num_features {} is too large (at most 2^31 - 1)", num_features));
  }
  if (static_cast<worker::DataFormat>(format) != worker::DataFormat::kCsv) {
    return (num_features > 0 ? num_features : std::uint64_t{1} << hash_bits) + 1;
  }
  const std::uint64_t buckets = columns.categorical.empty() ? 0 : std::uint64_t{1} << hash_bits;
  return buckets + 1 + columns.numeric.size();
}

namespace {
Status CheckLrModel(const LrModel& m) {
  ECPS_ASSIGN_OR_RETURN(const std::uint64_t keys,
                        FeatureSpaceKeys(m.format, m.hash_bits, m.num_features, m.columns));
  if (m.num_keys != keys) {
    return DataError(
        fmt::format("num_keys is {}, but the feature space has {} keys", m.num_keys, keys));
  }
  if (m.keys.size() != m.weights.size()) {
    return DataError(fmt::format("{} keys but {} weights", m.keys.size(), m.weights.size()));
  }
  for (std::size_t i = 0; i < m.keys.size(); ++i) {
    if (m.keys[i] >= m.num_keys || (i > 0 && m.keys[i] <= m.keys[i - 1])) {
      return DataError(fmt::format("key {} (entry {}) is out of order or not below num_keys {}",
                                   m.keys[i], i, m.num_keys));
    }
    if (!std::isfinite(m.weights[i])) {
      return DataError(fmt::format("the weight of key {} is not finite", m.keys[i]));
    }
  }
  const auto& sc = m.scaling;
  if (sc.mean.size() != sc.scale.size() || sc.log.size() != sc.mean.size() ||
      (!sc.empty() && sc.mean.size() != m.columns.numeric.size())) {
    return DataError(
        fmt::format("scaling for {}/{}/{} columns, but the model has {} numeric columns",
                    sc.mean.size(), sc.scale.size(), sc.log.size(), m.columns.numeric.size()));
  }
  for (std::size_t j = 0; j < sc.mean.size(); ++j) {
    if (!std::isfinite(sc.mean[j]) || !std::isfinite(sc.scale[j]) || sc.log[j] > 1) {
      return DataError(fmt::format("the scaling of column {} is not finite", j));
    }
  }
  if (m.name_keys.size() != m.names.size() ||
      !std::is_sorted(m.name_keys.begin(), m.name_keys.end()) ||
      (!m.name_keys.empty() && m.name_keys.back() >= m.num_keys)) {
    return DataError(fmt::format("{} named keys for {} names, or keys out of order", m.name_keys.size(),
                                 m.names.size()));
  }
  ECPS_RETURN_IF_ERROR(CheckImputation(m.impute, m.columns.numeric.size()));
  const ps::TableShard<float>& st = m.state;
  if (st.end != 0) {
    ECPS_RETURN_IF_ERROR(st.Check().WithContext("optimizer state"));
    if (st.begin != 0 || st.end != m.num_keys || st.width != 1) {
      return DataError(fmt::format("the optimizer state covers keys [{}, {}) of width {}, not [0, {}) of 1",
                                   st.begin, st.end, st.width, m.num_keys));
    }
  }
  return Status::Ok();
}
}  // namespace

namespace {
// A version-1 file: the model without its training history and optimizer state.
struct LrModelV1 {
  LrModel* m;
  template <class A>
  void serialize(A& ar) { m->SerializeV1(ar); }
};
}  // namespace

Result<LrModel> LoadLrModel(const std::string& path, const privacy::EncryptionKey* key) {
  LrModel m;
  if (Status s = LoadModel(path, LrModel::kKind, LrModel::kVersion, &m, key); !s.ok()) {
    m = LrModel();
    LrModelV1 v1{&m};
    if (!LoadModel(path, LrModel::kKind, 1, &v1, key).ok()) return s;
  }
  if (Status s = CheckLrModel(m); !s.ok()) {
    return DataError(fmt::format("{}: inconsistent model: {}", path, s.message()));
  }
  return m;
}

Result<std::vector<float>> PredictFile(const LrModel& model, const std::string& data_path,
                                       std::vector<std::uint64_t>* offsets) {
  ECPS_ASSIGN_OR_RETURN(worker::ExampleParser parser, model.MakeParser(data_path));
  worker::LoadOptions lo;
  lo.keep_values = !model.scaling.empty() || model.impute.fills();
  worker::FileShard all{sched::FileRange{data_path, 0, UINT64_MAX}, 0};
  ECPS_ASSIGN_OR_RETURN(worker::SparseData data, worker::LoadRows({all}, parser, lo, nullptr));
  // A kDrop model scores rows with a missing value as NaN (every row keeps its line).
  const std::vector<bool> incomplete = ImputeForScoring(model.impute, parser, &data);
  ApplyScaling(model.scaling, parser, &data);
  const std::vector<float> w = model.DenseWeights();
  std::vector<float> p;
  ScoreDense(data, w.data(), &p);
  for (std::size_t r = 0; r < incomplete.size(); ++r) {
    if (incomplete[r]) p[r] = std::numeric_limits<float>::quiet_NaN();
  }
  if (offsets != nullptr) *offsets = RowOffsets(data);
  return p;
}

void FeatureNames::Add(std::uint32_t key, const std::string& name) {
  auto& n = names_[key];
  if (n.empty()) {
    n = name;
    return;
  }
  const std::string sep = " | ";
  if (n == name || n.starts_with(name + sep) || n.ends_with(sep + name) || n.find(sep + name + sep) != std::string::npos) {
    return;  // already listed
  }
  n += sep + name;
}

const std::string& FeatureNames::Get(std::uint32_t key) const {
  static const std::string kNone;
  auto it = names_.find(key);
  return it == names_.end() ? kNone : it->second;
}

Status AddFeatindexNames(const std::string& path, const worker::ExampleParser& parser, FeatureNames* names) {
  if (parser.options().format != worker::DataFormat::kLibsvm) {
    return InvalidArgument("--featindex applies to libsvm data (name<TAB>index lines)");
  }
  ECPS_ASSIGN_OR_RETURN(auto reader, worker::LineReader::OpenFile(path));
  std::string_view line;
  while (true) {
    ECPS_ASSIGN_OR_RETURN(bool got, reader->Next(&line));
    if (!got) break;
    if (line.empty()) continue;
    const std::size_t tab = line.rfind('\t');
    std::uint64_t index = 0;
    bool ok = tab != std::string_view::npos && tab + 1 < line.size();
    if (ok) {
      for (char c : line.substr(tab + 1)) {
        if (c < '0' || c > '9' || index > (UINT64_MAX - 9) / 10) {
          ok = false;
          break;
        }
        index = index * 10 + static_cast<std::uint64_t>(c - '0');
      }
    }
    if (!ok) return DataError(fmt::format("{}: expected \"name<TAB>index\"", reader->Where()));
    if (parser.options().num_features > 0 && index >= parser.options().num_features) continue;
    names->Add(parser.IndexKey(index), std::string(line.substr(0, tab)));
  }
  return Status::Ok();
}

std::string DirectIndexName(const LrModel& m, std::uint32_t key) {
  const bool direct =
      m.format != static_cast<std::uint8_t>(worker::DataFormat::kCsv) && m.num_features > 0;
  return direct && key < m.num_features ? std::to_string(key) : std::string();
}

void AddCsvNames(const worker::ExampleParser& parser, const std::vector<std::vector<std::string>>& categories,
                 FeatureNames* names) {
  const auto& c = parser.csv_columns();
  for (std::size_t j = 0; j < c.numeric.size(); ++j) {
    names->Add(static_cast<std::uint32_t>(parser.numeric_key(j)), c.numeric[j]);
  }
  for (std::size_t j = 0; j < categories.size() && j < c.categorical.size(); ++j) {
    for (const auto& v : categories[j]) names->Add(parser.CategoryKey(j, v), c.categorical[j] + "=" + v);
  }
}

Status ExportWeights(const LrModel& model, const FeatureNames& names, const std::string& dir, bool csv_out,
                     bool json_out, const privacy::EncryptionKey* key) {
  std::vector<std::size_t> order(model.keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::fabs(model.weights[a]) > std::fabs(model.weights[b]);
  });
  std::string csv = "feature,key,weight\n";
  nlohmann::json arr = nlohmann::json::array();
  for (std::size_t i : order) {
    const std::string& given = names.Get(model.keys[i]);
    const std::string name = given.empty() ? DirectIndexName(model, model.keys[i]) : given;
    if (csv_out) csv += fmt::format("{},{},{}\n", CsvField(name), model.keys[i], model.weights[i]);
    if (json_out) arr.push_back({{"feature", name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name)},
                   {"key", model.keys[i]},
                   {"weight", model.weights[i]}});
  }
  if (csv_out) ECPS_RETURN_IF_ERROR(WriteOutputFile(dir + "/weights.csv", csv, key));
  if (!json_out) return Status::Ok();
  nlohmann::json j;
  j["algorithm"] = model.algorithm;
  j["num_keys"] = model.num_keys;
  j["nonzero_weights"] = model.keys.size();
  j["weights"] = std::move(arr);
  return WriteOutputFile(dir + "/weights.json", util::DumpJson(j, 2) + "\n", key);
}

}  // namespace ecps::models::lr
