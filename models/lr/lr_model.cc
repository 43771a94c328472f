#include "models/lr/lr_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/common/model_file.h"
#include "models/common/output.h"
#include "models/lr/lr_kernels.h"
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
  ECPS_ASSIGN_OR_RETURN(std::string header, worker::ReadFirstLine(data_path));
  return worker::ExampleParser::MakeCsv(o, columns, header, data_path);
}

std::vector<float> LrModel::DenseWeights() const {
  std::vector<float> w(num_keys, 0.0f);
  for (std::size_t i = 0; i < keys.size(); ++i) w[keys[i]] = weights[i];
  return w;
}

Status SaveLrModel(const std::string& path, const LrModel& model) {
  return SaveModel(path, LrModel::kKind, LrModel::kVersion, model);
}

Result<LrModel> LoadLrModel(const std::string& path) {
  LrModel m;
  ECPS_RETURN_IF_ERROR(LoadModel(path, LrModel::kKind, LrModel::kVersion, &m));
  if (m.keys.size() != m.weights.size() || m.format > 2 ||
      std::any_of(m.keys.begin(), m.keys.end(), [&](std::uint32_t k) { return k >= m.num_keys; }) ||
      m.scaling.mean.size() != m.scaling.scale.size() || m.scaling.log.size() != m.scaling.mean.size() ||
      (!m.scaling.empty() && m.scaling.mean.size() != m.columns.numeric.size())) {
    return DataError(path + ": the model is inconsistent (keys, weights or scaling do not match)");
  }
  return m;
}

Result<std::vector<float>> PredictFile(const LrModel& model, const std::string& data_path) {
  ECPS_ASSIGN_OR_RETURN(worker::ExampleParser parser, model.MakeParser(data_path));
  worker::LoadOptions lo;
  lo.keep_values = !model.scaling.empty();
  worker::FileShard all{sched::FileRange{data_path, 0, UINT64_MAX}, 0};
  ECPS_ASSIGN_OR_RETURN(worker::SparseData data, worker::LoadRows({all}, parser, lo, nullptr));
  ApplyScaling(model.scaling, parser, &data);
  const std::vector<float> w = model.DenseWeights();
  std::vector<float> p;
  ScoreDense(data, w.data(), &p);
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

std::string CsvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    q += c;
    if (c == '"') q += '"';
  }
  return q + "\"";
}

Status ExportWeights(const LrModel& model, const FeatureNames& names, const std::string& dir, bool csv_out,
                     bool json_out) {
  std::vector<std::size_t> order(model.keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::fabs(model.weights[a]) > std::fabs(model.weights[b]);
  });
  std::string csv = "feature,key,weight\n";
  nlohmann::json arr = nlohmann::json::array();
  for (std::size_t i : order) {
    const std::string& name = names.Get(model.keys[i]);
    if (csv_out) csv += fmt::format("{},{},{}\n", CsvQuote(name), model.keys[i], model.weights[i]);
    if (json_out) arr.push_back({{"feature", name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name)},
                   {"key", model.keys[i]},
                   {"weight", model.weights[i]}});
  }
  if (csv_out) ECPS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/weights.csv", csv));
  if (!json_out) return Status::Ok();
  nlohmann::json j;
  j["algorithm"] = model.algorithm;
  j["num_keys"] = model.num_keys;
  j["nonzero_weights"] = model.keys.size();
  j["weights"] = std::move(arr);
  return WriteJsonFile(dir + "/weights.json", j);
}

}  // namespace ecps::models::lr
