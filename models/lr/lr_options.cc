// The options of `train lr`: weight-export names, validation, the config written into
// metrics.json, and the memory estimate made before any rank starts.
#include <algorithm>

#include <fmt/format.h>

#include "models/lr/lr_job.h"

namespace ecps::models::lr {

const char* WeightExportName(WeightExport e) {
  switch (e) {
    case WeightExport::kCsv: return "csv";
    case WeightExport::kJson: return "json";
    case WeightExport::kBoth: return "both";
    case WeightExport::kNone: return "none";
  }
  return "?";
}

Result<WeightExport> ParseWeightExport(const std::string& name) {
  for (WeightExport e :
       {WeightExport::kCsv, WeightExport::kJson, WeightExport::kBoth, WeightExport::kNone}) {
    if (name == WeightExportName(e)) return e;
  }
  return InvalidArgument(fmt::format("--export-weights \"{}\" (csv, json, both or none)", name));
}

Status LrOptions::Validate() const {
  if (train.empty()) return InvalidArgument("--train is required");
  ECPS_RETURN_IF_ERROR(parser.Validate());
  if (parser.label_kind != worker::LabelKind::kBinary) return InvalidArgument("lr needs binary labels");
  ECPS_RETURN_IF_ERROR(update.Validate());
  ECPS_RETURN_IF_ERROR(dp.Validate(false));
  if (epochs < 1) return InvalidArgument(fmt::format("--epochs {} must be >= 1", epochs));
  if (!(holdout >= 0 && holdout < 1)) return InvalidArgument(fmt::format("--holdout {} is outside [0, 1)", holdout));
  if (!(threshold > 0 && threshold < 1)) return InvalidArgument(fmt::format("--threshold {} is outside (0, 1)", threshold));
  if (out.empty()) return InvalidArgument("--out is required");
  ECPS_RETURN_IF_ERROR(checkpoint.Validate(out));
  if (dp.enabled() && (checkpoint.writes() || checkpoint.resume)) {
    return InvalidArgument(
        "--checkpoint-dir and --resume cannot be used with --dp-*: DP-SGD's Poisson-sampling "
        "key and noise generator are secrets kept in memory only (never written to disk), so "
        "its runs are not checkpointed");
  }
  if (impute != ImputeMode::kNone && parser.format != worker::DataFormat::kCsv) {
    return InvalidArgument("--impute applies to csv data (an empty numeric field is a missing value)");
  }
  if (impute != ImputeMode::kNone && dp.enabled()) {
    return InvalidArgument("--impute cannot be used with --dp-*: its fills are statistics of the training "
                           "data outside the privacy guarantee");
  }
  if (dp.enabled() && !init_model.empty()) {
    return InvalidArgument("--init-model cannot be used with --dp-*: the privacy accounting of "
                           "DP-SGD covers one run from zero weights");
  }
  if (!featindex.empty() && parser.format != worker::DataFormat::kLibsvm) {
    return InvalidArgument("--featindex applies to libsvm data");
  }
  return Status::Ok();
}

nlohmann::json LrOptions::ToJson() const {
  const auto& u = update;
  return {{"algorithm", AlgorithmName(u.algorithm)}, {"alpha", u.alpha}, {"beta", u.beta},
          {"l1", u.l1}, {"l2", u.l2}, {"learning_rate", u.learning_rate},
          {"lr_decay", u.lr_decay}, {"epochs", epochs}, {"batch_size", batch_size},
          {"hash_bits", parser.hash_bits},
          {"format", std::string(worker::DataFormatName(parser.format))},
          {"standardize", standardize}, {"log_transform", log_transform}, {"seed", seed},
          {"train", train}, {"test", test}, {"holdout", holdout}, {"init_model", init_model},
          {"impute", ImputeModeName(impute)}};
}

LrMemoryEstimate EstimateLrMemory(std::uint64_t num_keys, Algorithm algorithm, int staleness, int threads,
                                  bool dp) {
  const std::uint64_t state = algorithm == Algorithm::kFtrl ? 2 : algorithm == Algorithm::kAdaGrad ? 1 : 0;
  // Open clock buffers: the clocks a worker may run ahead (BSP 0, SSP s; ASP taken as 1) plus
  // the one being finalized.
  const std::uint64_t clocks = static_cast<std::uint64_t>(staleness < 0 ? 1 : staleness) + 1;
  LrMemoryEstimate e;
  e.num_keys = num_keys;
  // DP: the dense noised sum and the next clock's normals (DpNoise::DrawAhead).
  e.server_bytes_per_key = sizeof(float) * (1 + state + clocks) + (dp ? sizeof(float) + sizeof(double) : 0);
  e.servers_bytes = num_keys * e.server_bytes_per_key;
  // Per 64 keys: KeyIndex's word (bits, prefix) and one bitmap word per thread while it is
  // built; GroupByBatch's bitmap and prefix words per thread.
  const std::uint64_t words = (num_keys + 63) / 64;
  const auto t = static_cast<std::uint64_t>(std::max(1, threads));
  e.worker_bytes = words * (16 + 8 * t + 12 * t);
  return e;
}

}  // namespace ecps::models::lr
