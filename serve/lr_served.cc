// lr and linreg models behind /v1/models/NAME:predict: instances parsed by the model's own
// ExampleParser (the one `ecps predict` builds), scored by ScoreDense (lr) or the linear
// predictor (linreg), printed with `ecps predict`'s digits.
#include <fmt/format.h>

#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "models/lr/linreg_job.h"
#include "models/lr/lr_kernels.h"
#include "models/lr/lr_model.h"
#include "serve/instances.h"
#include "serve/served_model.h"
#include "worker/csv.h"
#include "worker/sparse_data.h"

namespace ecps::serve {
namespace {

class ServedLr final : public ServedModel {
 public:
  std::string kind() const override { return linreg_ ? "linreg" : "lr"; }
  std::string verbs() const override { return "predict"; }

  static Result<std::unique_ptr<ServedModel>> Load(const std::string& path, bool linreg,
                                                    const privacy::EncryptionKey* key) {
    auto m = std::make_unique<ServedLr>();
    m->linreg_ = linreg;
    worker::ParserOptions o;
    const worker::CsvColumns* columns = nullptr;
    // The feature space both kinds of model record.
    auto space = [&](const auto& l) {
      o.format = static_cast<worker::DataFormat>(l.format);
      o.hash_bits = l.hash_bits;
      o.num_features = l.num_features;
      o.bias = l.bias;
      o.delimiter = l.delimiter;
      columns = &l.columns;
    };
    if (linreg) {
      ECPS_ASSIGN_OR_RETURN(m->linreg_model_, models::lr::LoadLinRegModel(path, key));
      space(m->linreg_model_);
      o.label_kind = worker::LabelKind::kReal;
    } else {
      ECPS_ASSIGN_OR_RETURN(m->lr_model_, models::lr::LoadLrModel(path, key));
      space(m->lr_model_);
      m->dense_ = m->lr_model_.DenseWeights();
    }
    o.label_optional = true;
    m->csv_ = o.format == worker::DataFormat::kCsv;
    if (m->csv_) {
      o.label_column = columns->label;
      m->fields_ = columns->numeric;
      m->fields_.insert(m->fields_.end(), columns->categorical.begin(), columns->categorical.end());
      m->delimiter_ = o.delimiter;
      ECPS_ASSIGN_OR_RETURN(auto parser,
                            worker::ExampleParser::MakeCsv(
                                o, *columns, CsvHeaderLine(m->fields_, o.delimiter), path));
      m->parser_ = std::make_unique<worker::ExampleParser>(std::move(parser));
    } else {
      ECPS_ASSIGN_OR_RETURN(auto parser, worker::ExampleParser::Make(o));
      m->parser_ = std::make_unique<worker::ExampleParser>(std::move(parser));
    }
    if (linreg && m->parser_->num_keys() != m->linreg_model_.coef.size()) {
      return DataError(
          fmt::format("{}: model has {} coefficients, but its feature space has {} columns", path,
                      m->linreg_model_.coef.size(), m->parser_->num_keys()));
    }
    return std::unique_ptr<ServedModel>(std::move(m));
  }

  Reply Handle(const std::string& verb, JsonValue body) const override {
    if (verb != "predict") {
      return ErrorReply(400, fmt::format("model \"{}\" ({}) answers :predict", name(), kind()));
    }
    auto instances = InstancesOf(body);
    if (!instances.ok()) return ErrorReply(400, instances.status().message());
    auto block = std::make_shared<worker::RowBlock>();
    block->all_ones = false;  // values kept: multiplying by a stored 1 is the same as by none
    worker::ParseScratch scratch;
    std::string line;
    std::size_t i = 0;
    for (const JsonValue x : instances->elements()) {
      const InstanceName name_of_instance(i);
      const std::string_view where = name_of_instance.view();
      if (csv_) {
        if (!x.is_object()) {
          return ErrorReply(400, std::string(where) +
                                     ": this model was trained on CSV columns: give an object of "
                                     "column names and values");
        }
        Status s = CsvLine(x, fields_, delimiter_, where, &line);
        if (!s.ok()) return ErrorReply(400, s.message());
      } else {
        if (!x.is_string()) {
          return ErrorReply(400, std::string(where) +
                                     ": this model was trained on libsvm/libffm lines: give the "
                                     "line as a string");
        }
        line.assign(x.str());
        if (worker::Trim(line).empty()) {
          return ErrorReply(400, std::string(where) + ": the line is empty");
        }
      }
      float label = 0;
      Status s = parser_->Parse(line, &label, &block->keys, &block->values, &scratch);
      if (!s.ok()) return ErrorReply(400, fmt::format("{}: {}", where, s.message()));
      block->values.resize(block->keys.size(), 1.0f);  // a parser that gives no values: all ones
      block->row_ptr.push_back(block->keys.size());
      block->labels.push_back(label);
      block->ids.push_back(i++);
    }
    worker::SparseData data = worker::SparseData::FromBlocks({block}, true);
    std::string out = "{\"predictions\": [";
    out.reserve(out.size() + 26 * data.rows() + 4);
    // --impute as in predict; a row that a drop-model cannot score is null.
    const models::lr::Imputation& imp = linreg_ ? linreg_model_.impute : lr_model_.impute;
    const std::vector<bool> incomplete = models::lr::ImputeForScoring(imp, *parser_, &data);
    auto null_at = [&](std::size_t r) {
      if (r >= incomplete.size() || !incomplete[r]) return false;
      out += r ? ", null" : "null";
      return true;
    };
    if (linreg_) {
      for (std::size_t r = 0; r < data.rows(); ++r) {
        if (null_at(r)) continue;
        // The linear predictor of `ecps predict` (PredictLinRegFile), operation for operation.
        const auto keys = data.keys(r);
        const float* values = data.values(r);
        double y = 0;
        for (std::size_t j = 0; j < keys.size(); ++j) {
          y += linreg_model_.coef[keys[j]] * (values ? values[j] : 1.0f);
        }
        fmt::format_to(std::back_inserter(out), "{}{:.17g}", r ? ", " : "", y);
      }
    } else {
      models::lr::ApplyScaling(lr_model_.scaling, *parser_, &data);
      std::vector<float> p;
      models::lr::ScoreDense(data, dense_.data(), &p);
      for (std::size_t r = 0; r < p.size(); ++r) {
        if (!null_at(r)) fmt::format_to(std::back_inserter(out), "{}{:.8g}", r ? ", " : "", p[r]);
      }
    }
    out += "]}\n";
    return Reply{200, std::move(out)};
  }

 private:
  bool linreg_ = false;
  bool csv_ = false;
  models::lr::LrModel lr_model_;
  models::lr::LinRegModel linreg_model_;
  std::vector<float> dense_;  // lr: the weights over the whole key space, as PredictFile uses
  std::unique_ptr<worker::ExampleParser> parser_;
  std::vector<std::string> fields_;  // csv: the columns an instance gives, in header order
  char delimiter_ = ',';
};

}  // namespace

Result<std::unique_ptr<ServedModel>> LoadServedLr(const std::string& path, const std::string& kind,
                                                  const privacy::EncryptionKey* key) {
  return ServedLr::Load(path, kind == models::lr::LinRegModel::kKind, key);
}

}  // namespace ecps::serve
