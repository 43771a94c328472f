// k-means feature CSV (`ecps train kmeans`, `ecps segment`): a schema with numeric, one-hot and
// ordinal columns and a label, bound to the file's header, then every record parsed. The first
// input byte picks the options, the rest is the file.
#include <cmath>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "worker/feature_csv.h"
#include "worker/line_reader.h"

using namespace ecps;

namespace {

worker::FeatureSchema MakeSchema(std::uint8_t opt) {
  worker::FeatureColumnsOptions o;
  o.id_column = (opt & 1) ? worker::kLineId : "user_id";
  o.features = {"age", "gender", "size", "spend"};
  o.one_hot = {"gender=F|M|X"};
  o.ordinal = {"size=S|M|L"};
  if (opt & 2) o.label_column = "churn";
  o.delimiter = (opt & 4) ? '\t' : ',';
  auto schema = worker::FeatureSchema::Make(o);
  fuzz::Check(schema.ok(), "fixed schema is valid");
  return std::move(schema).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("feature_csv");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  const worker::FeatureSchema schema = MakeSchema(opt);
  const std::string& path = file.Write(in);
  auto parser = worker::FeatureRowParser::Open(schema, path);
  if (!parser.ok()) return 0;
  auto lines = worker::LineReader::OpenFile(path);
  if (!lines.ok()) return 0;
  std::vector<double> x(schema.dim());
  std::string_view line;
  while (true) {
    auto more = (*lines)->Next(&line);
    if (!more.ok() || !*more) break;
    if ((*lines)->offset() == 0) continue;  // header
    std::string_view id;
    int label = -1;
    if (!parser->Parse(line, &id, x.data(), &label).ok()) continue;  // the caller skips or fails
    for (double v : x) fuzz::Check(std::isfinite(v), "features are finite");
    if (schema.has_label()) fuzz::Check(label == 0 || label == 1, "label is 0 or 1");
  }
  return 0;
}
