// JSON and ONNX exports of lr and linreg models: the feature space as a specification that
// another language can reimplement (checked by test vectors computed with the real parser).
#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "models/common/csv_field.h"
#include "models/export/exporters.h"
#include "models/export/onnx_writer.h"
#include "models/lr/lr_impute.h"
#include "util/hash.h"

namespace ecps::models::exporting {
namespace {

using nlohmann::json;

std::string Hex(std::uint64_t v) { return fmt::format("0x{:016x}", v); }

// Feature names by key from DIR/weights.json (written by `train lr --export-weights`); none
// when the file is missing, sealed or not that file's layout.
std::map<std::uint32_t, std::string> WeightNames(const std::string& dir) {
  std::map<std::uint32_t, std::string> names;
  if (dir.empty()) return names;
  std::ifstream in(dir + "/weights.json");
  if (!in) return names;
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("weights") || !j["weights"].is_array()) return names;
  for (const auto& w : j["weights"]) {
    if (!w.is_object() || !w.contains("key") || !w["key"].is_number_unsigned()) continue;
    if (w.contains("feature") && w["feature"].is_string()) {
      names[w["key"].get<std::uint32_t>()] = w["feature"].get<std::string>();
    }
  }
  return names;
}

// What every parser of the feature space shares: format, key layout, hashing and row rules.
struct Space {
  worker::DataFormat format;
  int hash_bits;
  std::uint64_t num_features;
  bool bias;
  char delimiter;
  const worker::CsvColumns* columns;
  std::uint64_t buckets;
};

// A parser of the space (CSV: bound to a header of the training columns), for test vectors.
Result<worker::ExampleParser> SpaceParser(const Space& s) {
  worker::ParserOptions o;
  o.format = s.format;
  o.hash_bits = s.hash_bits;
  o.num_features = s.num_features;
  o.bias = s.bias;
  o.delimiter = s.delimiter;
  o.label_optional = true;
  if (s.format != worker::DataFormat::kCsv) return worker::ExampleParser::Make(o);
  std::string header;
  for (const auto* list : {&s.columns->numeric, &s.columns->categorical}) {
    for (const auto& c : *list) {
      if (!header.empty()) header += s.delimiter;
      AppendCsvField(&header, c);
    }
  }
  o.label_column = s.columns->label;
  return worker::ExampleParser::MakeCsv(o, *s.columns, header, "(export)");
}

json HashingJson(const Space& s, const worker::ExampleParser* parser) {
  json h;
  h["mix64"] = {{"steps",
                 {"k ^= k >> 33", "k = (k * C1) mod 2^64", "k ^= k >> 33", "k = (k * C2) mod 2^64",
                  "k ^= k >> 33"}},
                {"C1", Hex(0xff51afd7ed558ccdULL)},
                {"C2", Hex(0xc4ceb9fe1a85ec53ULL)}};
  h["string_hash"] = {
      {"steps",
       {"h = FNV_OFFSET xor mix64((seed + GOLDEN) mod 2^64)",
        "for each byte b of the value's UTF-8 bytes: h = ((h xor b) * FNV_PRIME) mod 2^64",
        "result: mix64(h)"}},
      {"FNV_OFFSET", Hex(0xcbf29ce484222325ULL)},
      {"FNV_PRIME", Hex(0x100000001b3ULL)}};
  h["GOLDEN"] = Hex(0x9e3779b97f4a7c15ULL);
  h["bucket"] =
      "bucket(x) = (x * buckets) >> 64: the high 64 bits of the 128-bit product, for x below 2^64";
  json checks = json::array();
  switch (s.format) {
    case worker::DataFormat::kLibsvm:
      h["index_key"] = s.num_features > 0 ? "key = index (indices at or above buckets are an error)"
                                          : "key = bucket(mix64(index xor GOLDEN))";
      for (std::uint64_t i : {0ULL, 1ULL, 7ULL, 123456789ULL}) {
        if (s.num_features > 0 && i >= s.num_features) continue;
        checks.push_back({{"index", i}, {"key", parser->IndexKey(i)}});
      }
      break;
    case worker::DataFormat::kLibffm:
      h["index_key"] = s.num_features > 0
                           ? "key = index (indices at or above buckets are an error)"
                           : "key = bucket(mix64(index xor mix64((field + GOLDEN) mod 2^64)))";
      for (std::uint64_t i : {0ULL, 1ULL, 7ULL}) {
        if (s.num_features > 0 && i >= s.num_features) continue;
        checks.push_back({{"field", 3}, {"index", i}, {"key", parser->FieldIndexKey(3, i)}});
      }
      break;
    case worker::DataFormat::kCsv: {
      h["category_key"] =
          "key = bucket(string_hash(value, seed)) with value the field without surrounding spaces "
          "and tabs (empty included) and seed = string_hash(column name, CATEGORY_SEED), given per "
          "column";
      h["CATEGORY_SEED"] = Hex(0xca7e6025ULL);
      const auto& cat = s.columns->categorical;
      for (std::size_t j = 0; j < cat.size() && j < 3; ++j) {
        for (const char* v : {"", "a", "Value 7"}) {
          checks.push_back({{"column", cat[j]}, {"value", v}, {"key", parser->CategoryKey(j, v)}});
        }
      }
      break;
    }
  }
  h["check_values"] = std::move(checks);
  return h;
}

// --impute of a CSV model: its method and the fill of each numeric column (null: none).
json ImputeJson(const Space& s, const lr::Imputation& imp) {
  json j = {{"method", lr::ImputeModeName(imp.mode)}};
  switch (imp.mode) {
    case lr::ImputeMode::kNone:
      j["rule"] = "an empty numeric field adds no (key, value) pair (its value counts as 0)";
      break;
    case lr::ImputeMode::kDrop:
      j["rule"] = "a row with an empty numeric field is not scored: `ecps predict` gives it NaN";
      break;
    default: {
      j["rule"] =
          "an empty numeric field takes its column's fill (zero: 0; mean, median: the mean or the "
          "lower median of the column's present training values) as its float64 value, before "
          "the float32 rounding and any standardisation";
      json fills = json::object();
      for (std::size_t c = 0; c < s.columns->numeric.size() && c < imp.fill.size(); ++c) {
        fills[s.columns->numeric[c]] = imp.fill[c];
      }
      j["fill"] = std::move(fills);
    }
  }
  return j;
}

// The feature space: key layout, hashing, how a row becomes (key, value) pairs, and (lr) the
// standardisation of numeric columns; `imp` (CSV only): what an empty numeric field becomes.
json SpaceJson(const Space& s, const lr::NumericScaling* scaling, const lr::Imputation& imp) {
  auto parser = SpaceParser(s);
  json j;
  j["format"] = worker::DataFormatName(s.format);
  j["buckets"] = s.buckets;
  j["bias_key"] = s.bias ? json(s.buckets) : json(nullptr);
  j["num_keys"] =
      s.buckets + 1 + (s.format == worker::DataFormat::kCsv ? s.columns->numeric.size() : 0);
  j["key_layout"] =
      "[0, buckets): hashed (or direct) features; buckets: the bias (value 1 on every row, when "
      "bias_key is not null); buckets + 1 + j: numeric CSV column j";
  j["hashed"] = s.num_features == 0;
  if (s.num_features == 0) j["hash_bits"] = s.hash_bits;
  j["hashing"] = parser.ok() ? HashingJson(s, &*parser) : json(parser.status().message());
  const std::string bias = s.bias ? ", then (bias_key, 1)" : "";
  switch (s.format) {
    case worker::DataFormat::kLibsvm:
    case worker::DataFormat::kLibffm: {
      const bool ffm = s.format == worker::DataFormat::kLibffm;
      j["row"] = {
          "tokens are separated by spaces and tabs; a token starting with # ends the line",
          "the first token is the label unless it holds a ':' (rows to score may have no label)",
          ffm ? "each other token is field:index:value (field, index: decimal integers >= 0)"
              : "each other token is index:value (index: a decimal integer >= 0)",
          "value: the decimal number rounded to float32 (a leading + allowed)",
          "features in line order: (index_key(...), value)" + bias,
          "a key may appear several times in a row: each occurrence is a separate term"};
      break;
    }
    case worker::DataFormat::kCsv: {
      j["delimiter"] = std::string(1, s.delimiter);
      j["label_column"] = s.columns->label;
      j["row"] = {
          "the first line is a header; columns are found by name (other columns are ignored, the "
          "label column may be missing)",
          "fields are split RFC 4180 style (double quotes, \"\" inside quotes) on the delimiter; a "
          "field's surrounding spaces and tabs are dropped",
          "features in this order: each categorical column j in order: (category_key, 1)" + bias +
              (imp.fills() ? "; each numeric column j in order: (buckets + 1 + j, x)"
                           : "; each numeric column j in order whose field is not empty: "
                             "(buckets + 1 + j, x)"),
          std::string("numeric x: the field as a decimal number parsed to float64") +
              (imp.fills() ? " (an empty field: the column's fill, see impute)" : "") +
              ", rounded to float32, then (lr) standardised: float32(((log1p(max(x, 0)) if log1p "
              "else x) - mean) * scale), computed in float64"};
      j["impute"] = ImputeJson(s, imp);
      json cats = json::array();
      for (const auto& c : s.columns->categorical) {
        cats.push_back({{"column", c}, {"seed", Hex(util::HashFeature(c, 0xca7e6025ULL))}});
      }
      j["categorical_columns"] = std::move(cats);
      json nums = json::array();
      for (std::size_t c = 0; c < s.columns->numeric.size(); ++c) {
        json n = {{"column", s.columns->numeric[c]}, {"key", s.buckets + 1 + c}};
        if (imp.fills() && c < imp.fill.size()) n["fill"] = imp.fill[c];
        if (scaling != nullptr && !scaling->empty()) {
          n["log1p"] = scaling->log[c] != 0;
          n["mean"] = scaling->mean[c];
          n["scale"] = scaling->scale[c];
        }
        nums.push_back(std::move(n));
      }
      j["numeric_columns"] = std::move(nums);
      break;
    }
  }
  return j;
}

std::uint64_t Buckets(worker::DataFormat f, int hash_bits, std::uint64_t num_features,
                      const worker::CsvColumns& c) {
  if (f == worker::DataFormat::kCsv)
    return c.categorical.empty() ? 0 : std::uint64_t{1} << hash_bits;
  return num_features > 0 ? num_features : std::uint64_t{1} << hash_bits;
}

// A key's name: from weights.json, else what the feature space says (bias, numeric column,
// direct index).
std::string KeyName(const Space& s, const std::map<std::uint32_t, std::string>& names,
                    std::uint64_t key, const char* bias_name) {
  if (auto it = names.find(static_cast<std::uint32_t>(key)); it != names.end()) return it->second;
  if (s.bias && key == s.buckets) return bias_name;
  if (key > s.buckets && s.format == worker::DataFormat::kCsv)
    return s.columns->numeric[key - s.buckets - 1];
  if (s.num_features > 0 && key < s.buckets) return std::to_string(key);
  return "";
}

Space MakeSpace(std::uint8_t format, int hash_bits, std::uint64_t num_features, bool bias,
                char delimiter, const worker::CsvColumns& columns) {
  const auto f = static_cast<worker::DataFormat>(format);
  return {f,         hash_bits, num_features, bias,
          delimiter, &columns,  Buckets(f, hash_bits, num_features, columns)};
}

json Header(const char* model) { return {{"ecps_export", kJsonVersion}, {"model", model}}; }

}  // namespace

nlohmann::json LrJson(const lr::LrModel& m, const std::string& dir) {
  const Space s = MakeSpace(m.format, m.hash_bits, m.num_features, m.bias, m.delimiter, m.columns);
  json j = Header("lr");
  j["algorithm"] = m.algorithm;
  j["features"] = SpaceJson(s, &m.scaling, m.impute);
  const auto names = WeightNames(dir);
  json w = json::array();
  double intercept = 0;
  for (std::size_t i = 0; i < m.keys.size(); ++i) {
    const std::string name = KeyName(s, names, m.keys[i], "(bias)");
    w.push_back({{"key", m.keys[i]},
                 {"weight", static_cast<double>(m.weights[i])},
                 {"feature", name.empty() ? json(nullptr) : json(name)}});
    if (m.bias && m.keys[i] == s.buckets) intercept = m.weights[i];
  }
  j["weights"] = std::move(w);
  j["weights_note"] = "non-zero weights only (float32 values); every other key has weight 0";
  j["intercept"] = intercept;
  j["link"] = "logistic";
  j["score"] = {
      "margin m: a float32 accumulator starting at 0; for each (key, value) of the row in order: "
      "m = float32(m + float32(weight[key] * value))",
      "probability: float32 logistic of m: if m >= 0: 1 / (1 + expf(-m)), else expf(m) / (1 + "
      "expf(m)), each step in float32 (expf: C's float exponential)",
      "`ecps predict` prints it with 8 significant digits"};
  return j;
}

nlohmann::json LinRegJson(const lr::LinRegModel& m, const std::string& dir) {
  const Space s = MakeSpace(m.format, m.hash_bits, m.num_features, m.bias, m.delimiter, m.columns);
  json j = Header("linreg");
  j["features"] = SpaceJson(s, nullptr, m.impute);
  const auto names = WeightNames(dir);
  json w = json::array();
  for (std::size_t k = 0; k < m.coef.size(); ++k) {
    if (m.coef[k] == 0) continue;
    const std::string name = KeyName(s, names, k, "(intercept)");
    w.push_back({{"key", k},
                 {"weight", m.coef[k]},
                 {"feature", name.empty() ? json(nullptr) : json(name)}});
  }
  j["weights"] = std::move(w);
  j["weights_note"] =
      "non-zero coefficients only (float64 values); every other key has coefficient 0";
  j["intercept"] = m.bias && s.buckets < m.coef.size() ? m.coef[s.buckets] : 0.0;
  j["link"] = "identity";
  j["score"] = {
      "prediction y: a float64 accumulator starting at 0; for each (key, value) of the row in "
      "order: y = y + weight[key] * value, in float64 (value: the float32 feature value widened)",
      "`ecps predict` prints it with 17 significant digits"};
  return j;
}

std::string LrOnnx(const lr::LrModel& m) {
  const std::vector<float> dense = m.DenseWeights();
  const auto n = static_cast<std::int64_t>(dense.size());
  onnx::Graph g;
  g.name = "ecps_lr";
  g.doc =
      "Logistic regression: probability = sigmoid(features . weights). features: the row's "
      "transformed feature vector over the model's key space (see `ecps export --format json`: "
      "the value of each key, the bias key 1, numeric columns standardised).";
  g.initializers.push_back(onnx::FloatTensor("weights", {n, 1}, dense));
  g.inputs.push_back(
      {"features", onnx::ElemType::kFloat, {-1, n}, "transformed feature vector (N x keys)"});
  g.outputs.push_back(
      {"probability", onnx::ElemType::kFloat, {-1, 1}, "click/conversion probability"});
  g.nodes.push_back({"MatMul", {"features", "weights"}, {"margin"}, {}});
  g.nodes.push_back({"Sigmoid", {"margin"}, {"probability"}, {}});
  return onnx::EncodeModel(g, 13, {{"ecps_model", "lr"}, {"algorithm", m.algorithm}});
}

}  // namespace ecps::models::exporting
