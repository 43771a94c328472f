// LR and linear-regression model files (`ecps predict`): the payload is loaded and, when it
// loads, scores a small data file of the model's format. The first input byte picks lr or
// linreg, the rest is the payload.
#include "fuzz/model_payload.h"
#include "models/lr/linreg_job.h"
#include "models/lr/lr_model.h"
#include "worker/example_parser.h"

using namespace ecps;

namespace {

// A few rows in each input format; the CSV columns are those of the seed models.
const std::string& DataFile(std::uint8_t format) {
  static fuzz::ScratchFile libsvm("model_lr-libsvm"), libffm("model_lr-libffm"), csv("model_lr-csv");
  static const bool written = [] {
    libsvm.Write("1 3:1 7:0.5\n0 2:1 999:2\n4:1\n");
    libffm.Write("1 0:3:1 1:7:0.5\n0 2:2:1\n");
    csv.Write("y,a,b,c\n1,0.5,2,x\n0,1,3,y\n1,,4,x\n");
    return true;
  }();
  (void)written;
  if (format == static_cast<std::uint8_t>(worker::DataFormat::kLibffm)) return libffm.path();
  if (format == static_cast<std::uint8_t>(worker::DataFormat::kCsv)) return csv.path();
  return libsvm.path();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("model_lr");
  std::string_view in = fuzz::Bytes(data, size);
  const std::uint8_t opt = fuzz::TakeByte(&in);
  if (opt & 1) {
    const auto& path = fuzz::WriteModel(&file, models::lr::LinRegModel::kKind,
                                        models::lr::LinRegModel::kVersion, in);
    auto model = models::lr::LoadLinRegModel(path);
    if (!model.ok()) return 0;
    (void)models::lr::PredictLinRegFile(*model, DataFile(model->format));
  } else {
    const auto& path = fuzz::WriteModel(&file, models::lr::LrModel::kKind, models::lr::LrModel::kVersion, in);
    auto model = models::lr::LoadLrModel(path);
    if (!model.ok()) return 0;
    (void)models::lr::PredictFile(*model, DataFile(model->format));
  }
  return 0;
}
