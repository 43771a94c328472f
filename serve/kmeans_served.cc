// k-means models behind /v1/models/NAME:segment (and :predict): each instance (an object of
// the feature columns) is parsed by the model's FeatureRowParser, normalised, and assigned
// with the kernels `ecps segment` runs, in the same order of operations.
#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "models/kmeans/kernel.h"
#include "models/kmeans/model.h"
#include "serve/instances.h"
#include "serve/served_model.h"
#include "worker/feature_csv.h"

namespace ecps::serve {
namespace {

class ServedKMeans final : public ServedModel {
 public:
  std::string kind() const override { return "kmeans"; }
  std::string verbs() const override { return "predict, segment"; }

  static Result<std::unique_ptr<ServedModel>> Load(const std::string& path,
                                                    const privacy::EncryptionKey* key) {
    auto m = std::make_unique<ServedKMeans>();
    ECPS_ASSIGN_OR_RETURN(m->model_, models::kmeans::LoadKMeansModel(path, key));
    m->schema_ = m->model_.schema;
    m->schema_.DropLabel();
    for (const auto& c : m->schema_.columns()) m->fields_.push_back(c.column);
    m->header_fields_ = m->fields_;
    if (!m->schema_.line_ids()) {
      m->header_fields_.insert(m->header_fields_.begin(), m->schema_.id_column());
    }
    m->header_line_ = CsvHeaderLine(m->header_fields_, m->schema_.delimiter());
    ECPS_ASSIGN_OR_RETURN(auto header,
                          worker::CsvHeader::Parse(m->header_line_, m->schema_.delimiter(), path));
    ECPS_RETURN_IF_ERROR(worker::FeatureRowParser::Bind(m->schema_, header).status());
    m->header_ = std::make_unique<worker::CsvHeader>(std::move(header));
    m->panel_.Set(m->model_.centroids, m->model_.k, m->model_.d);
    return std::unique_ptr<ServedModel>(std::move(m));
  }

  Reply Handle(const std::string& verb, JsonValue body) const override {
    if (verb != "predict" && verb != "segment") {
      return ErrorReply(400,
                        fmt::format("model \"{}\" (kmeans) answers :segment and :predict", name()));
    }
    auto instances = InstancesOf(body);
    if (!instances.ok()) return ErrorReply(400, instances.status().message());
    auto parser = worker::FeatureRowParser::Bind(schema_, *header_);
    if (!parser.ok()) return ErrorReply(500, parser.status().message());
    const std::size_t d = model_.d, n = instances->size();
    std::vector<double> x(n * d), norms(n), d2(n);
    std::vector<std::int32_t> labels(n);
    std::string line;
    std::size_t i = 0;
    for (const JsonValue inst : instances->elements()) {
      const InstanceName name_of_instance(i);
      const std::string_view where = name_of_instance.view();
      if (!inst.is_object())
        return ErrorReply(400, std::string(where) + ": must be an object of feature columns");
      Status s;
      if (!schema_.line_ids() && !inst.contains(schema_.id_column())) {
        // The id is not a feature: any non-empty text stands in when the instance has none.
        line.assign("\"-\"").push_back(schema_.delimiter());
        s = AppendCsvLine(inst, fields_, schema_.delimiter(), where, &line);
      } else {
        s = CsvLine(inst, header_fields_, schema_.delimiter(), where, &line);
      }
      if (!s.ok()) return ErrorReply(400, s.message());
      std::string_view id;
      int label = 0;
      s = parser->Parse(line, &id, x.data() + i * d, &label);
      if (!s.ok()) return ErrorReply(400, fmt::format("{}: {}", where, s.message()));
      model_.normalizer.Apply(x.data() + i * d, 1);
      ++i;
    }
    // As Segment() does for a batch of rows.
    models::kmeans::SquaredNorms(x.data(), n, d, norms.data());
    models::kmeans::Assign(x.data(), norms.data(), n, panel_, labels.data(), d2.data());
    std::string out = "{\"predictions\": [";
    for (std::size_t r = 0; r < n; ++r) {
      const auto c = static_cast<std::size_t>(labels[r]);
      const double dist = std::sqrt(
          models::kmeans::SquaredDistance(x.data() + r * d, model_.centroids.data() + c * d, d));
      const double score = model_.Score(c, dist);
      fmt::format_to(
          std::back_inserter(out),
          "{}{{\"segment\": {}, \"distance\": {:.17g}, \"risk\": {:.17g}, \"anomaly\": {}}}",
          r ? ", " : "", c, dist, score, score >= model_.anomaly_threshold ? 1 : 0);
    }
    out += "]}\n";
    return Reply{200, std::move(out)};
  }

 private:
  models::kmeans::KMeansModel model_;
  worker::FeatureSchema schema_;            // without the label (the parser points into it)
  std::vector<std::string> fields_;         // the feature columns
  std::vector<std::string> header_fields_;  // the id column (unless line ids) and fields_
  std::string header_line_;
  std::unique_ptr<worker::CsvHeader> header_;
  models::kmeans::CentroidPanel panel_;
};

}  // namespace

Result<std::unique_ptr<ServedModel>> LoadServedKMeans(const std::string& path,
                                                      const privacy::EncryptionKey* key) {
  return ServedKMeans::Load(path, key);
}

}  // namespace ecps::serve
