#include "models/lr/lr_warm_start.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/common/model_file.h"
#include "models/lr/lr_job.h"

namespace ecps::models::lr {
namespace {

std::string Columns(const std::vector<std::string>& names) {
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ","));
}

// The first difference between the model's feature space and this run's, or "".
std::string FeatureSpaceDifference(const LrModel& m, const LrModel& now) {
  const auto format = [](std::uint8_t f) {
    return worker::DataFormatName(static_cast<worker::DataFormat>(f));
  };
  if (m.format != now.format) {
    return fmt::format("--format {}; this run has {}", format(m.format), format(now.format));
  }
  const auto csv = static_cast<worker::DataFormat>(now.format) == worker::DataFormat::kCsv;
  const bool hashed = !csv || !now.columns.categorical.empty();
  if (hashed && now.num_features == 0 && m.hash_bits != now.hash_bits) {
    return fmt::format("--hash-bits {}; this run has {}", m.hash_bits, now.hash_bits);
  }
  if (m.num_features != now.num_features) {
    return fmt::format("{} features (0 = hashed); this run has {}", m.num_features, now.num_features);
  }
  if (m.bias != now.bias) {
    return fmt::format("{}; this run has {}", m.bias ? "a bias" : "--no-bias", now.bias ? "a bias" : "--no-bias");
  }
  if (!csv) return "";
  if (m.columns.label != now.columns.label) {
    return fmt::format("label column {}; this run has {}", m.columns.label, now.columns.label);
  }
  if (m.columns.numeric != now.columns.numeric) {
    return fmt::format("numeric columns {}; this run has {}", Columns(m.columns.numeric),
                       Columns(now.columns.numeric));
  }
  if (m.columns.categorical != now.columns.categorical) {
    return fmt::format("categorical columns {}; this run has {}", Columns(m.columns.categorical),
                       Columns(now.columns.categorical));
  }
  return "";
}

// The names FeatureNames joined with " | ".
std::vector<std::string_view> SplitNames(std::string_view joined) {
  std::vector<std::string_view> out;
  while (!joined.empty()) {
    const std::size_t bar = joined.find(" | ");
    out.push_back(joined.substr(0, bar));
    joined = bar == std::string_view::npos ? std::string_view() : joined.substr(bar + 3);
  }
  return out;
}

std::uint32_t StateWidthOf(Algorithm a) { return a == Algorithm::kFtrl ? 2 : a == Algorithm::kAdaGrad ? 1 : 0; }

}  // namespace

Result<std::unique_ptr<WarmStart>> LoadWarmStart(const LrOptions& options,
                                                 const worker::ExampleParser& parser) {
  const std::string& given = options.init_model;
  if (!std::filesystem::exists(given)) {
    return NotFound(fmt::format("--init-model {}: no such file or folder", given));
  }
  auto w = std::make_unique<WarmStart>();
  ECPS_ASSIGN_OR_RETURN(w->path, ModelFileIn(given, "model.bin"));
  ECPS_ASSIGN_OR_RETURN(w->model, LoadLrModel(w->path, options.encrypt.get()));
  const LrModel& m = w->model;
  LrModel now;
  now.SetFeatureSpace(parser);
  if (const std::string diff = FeatureSpaceDifference(m, now); !diff.empty()) {
    return InvalidArgument(fmt::format("--init-model {}: a model of another feature space: it has {}",
                                       w->path, diff));
  }
  const char* algorithm = AlgorithmName(options.update.algorithm);
  if (m.algorithm != algorithm) {
    return InvalidArgument(fmt::format(
        "--init-model {}: the model was trained with --algorithm {}; this run has {} (the "
        "rules' states differ: continue with --algorithm {})",
        w->path, m.algorithm, algorithm, m.algorithm));
  }
  const bool scales = options.standardize && !parser.csv_columns().numeric.empty();
  if (scales == m.scaling.empty()) {
    return InvalidArgument(fmt::format(
        "--init-model {}: the model's numeric columns are {}standardised; this run's would {}be "
        "(give --no-standardize {}as the model's run did)",
        w->path, m.scaling.empty() ? "not " : "", scales ? "" : "not ", scales ? "" : "not "));
  }
  const std::uint32_t fw = StateWidthOf(options.update.algorithm);
  w->has_state = m.state.end != 0 && m.state.finalizer_width == fw;
  w->table = w->has_state ? m.state : TableFromWeights(m, options.update, kWeights, fw);
  w->table.table = kWeights;
  return w;
}

ps::TableShard<float> TableFromWeights(const LrModel& model, const UpdateOptions& update,
                                       std::uint32_t table, std::uint32_t finalizer_width) {
  ps::TableShard<float> t{table, 0, model.num_keys, 1, 0, finalizer_width, model.keys, {}};
  // FTRL: Weight(z, 0) = -(z - sign(z) l1) / (beta / alpha + l2) = w.
  const double d = update.beta / update.alpha + update.l2;
  for (const float w : model.weights) {
    t.packed.push_back(w);
    if (finalizer_width == 2) {
      t.packed.push_back(static_cast<float>(-w * d - std::copysign(update.l1, w)));
      t.packed.push_back(0.0f);
    } else if (finalizer_width == 1) {
      t.packed.push_back(0.0f);
    }
  }
  return t;
}

void StartFrom(const WarmStart& w, TrainPlan* plan, spdlog::logger& log) {
  plan->scaling = w.model.scaling;
  plan->epoch_offset = static_cast<int>(w.model.epochs_trained);
  log.info("lr: continuing from {} ({} epoch(s), {} clock(s) trained; {})", w.path, w.model.epochs_trained,
           w.model.clocks_trained,
           w.has_state ? "with its optimizer state" : "no optimizer state in the file: accumulators start at zero");
}

Status RecordTraining(std::vector<WeightShard> shards, std::uint32_t epochs, std::uint64_t clocks,
                      const WarmStart* warm, LrModel* model) {
  model->epochs_trained = epochs + (warm ? warm->model.epochs_trained : 0);
  model->clocks_trained = clocks + (warm ? warm->model.clocks_trained : 0);
  std::vector<ps::TableShard<float>> states;
  for (auto& s : shards) {
    if (s.state.end > s.state.begin) states.push_back(std::move(s.state));
  }
  if (states.size() < shards.size()) return Status::Ok();
  ECPS_ASSIGN_OR_RETURN(model->state, ps::SliceShards(std::move(states), {0, model->num_keys}));
  return Status::Ok();
}

Status CheckFeatindex(const WarmStart& w, const FeatureNames& names, const std::string& featindex) {
  const LrModel& m = w.model;
  for (std::size_t i = 0; i < m.name_keys.size(); ++i) {
    const std::string& now = names.Get(m.name_keys[i]);
    const std::vector<std::string_view> now_names = SplitNames(now);
    for (const std::string_view name : SplitNames(m.names[i])) {  // every name the model had
      if (std::find(now_names.begin(), now_names.end(), name) != now_names.end()) continue;
      return InvalidArgument(fmt::format(
          "--init-model {}: --featindex {} gives feature \"{}\" another index: the model's key {} "
          "is \"{}\", this run's \"{}\" (index the new features after the old ones)",
          w.path, featindex, name, m.name_keys[i], m.names[i], now));
    }
  }
  return Status::Ok();
}

void RecordNames(const FeatureNames& names, LrModel* model) {
  model->name_keys.clear();
  model->names.clear();
  const auto add = [&](std::uint32_t key) {
    const std::string& n = names.Get(key);
    if (n.empty()) return;
    model->name_keys.push_back(key);
    model->names.push_back(n);
  };
  if (model->state.end != 0) {
    for (std::uint32_t r : model->state.present) add(r);
  } else {
    for (std::uint32_t k : model->keys) add(k);
  }
}

nlohmann::json WarmStartJson(const WarmStart& w) {
  return {{"path", w.path},
          {"epochs_trained", w.model.epochs_trained},
          {"clocks_trained", w.model.clocks_trained},
          {"optimizer_state", w.has_state}};
}

}  // namespace ecps::models::lr
