// `train lr --init-model`: continuing training from an earlier model instead of zeros.
//
// The model (LrModel, format 2) holds the servers' table at the end of its training: the
// weights with the rule's state (FTRL z and n, AdaGrad's accumulators), plus the epochs and
// clocks trained. A warm start loads that table into the servers through the checkpoint
// machinery (each server gets its key range, SchedulerCheckpoints' shard loading), numbers its
// epochs on from the model's (the batch order of an epoch depends on its number) and counts
// SGD's decaying step on from its clocks. It keeps the model's numeric scaling, so that the
// numeric weights keep their meaning on the new data.
//
// Hence 1 epoch, then 1 more with --init-model, is the 2-epoch run bit for bit when the data,
// the options and the worker count are the same and the consistency is BSP. A format-1 model
// holds no optimizer state: the accumulators start at zero (FTRL: n = 0 and z chosen so that
// the weights are the model's), which changes the later steps' sizes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include <nlohmann/json.hpp>

#include "models/lr/lr_messages.h"
#include "models/lr/lr_model.h"
#include "models/lr/lr_update.h"
#include "ps/table_shard.h"
#include "worker/example_parser.h"

namespace ecps::models::lr {

struct LrOptions;

/// What a warm start begins from.
struct WarmStart {
  std::string path;  ///< the model file
  LrModel model;
  /// The table to load ([0, num_keys), the model's own state or one made from its weights).
  ps::TableShard<float> table;
  bool has_state = false;  ///< whether the model held its optimizer state
};

/// Loads --init-model (a folder with model.bin, or the file) and checks it against this run:
/// the feature space of `parser` (format, hash bits, num_features, bias, CSV label, numeric
/// and categorical columns), --algorithm and whether numeric columns are standardised.
/// NotFound naming the path when it is missing; InvalidArgument naming the difference when it
/// does not fit; the model file's own refusals otherwise.
Result<std::unique_ptr<WarmStart>> LoadWarmStart(const LrOptions& options,
                                                 const worker::ExampleParser& parser);

/// The table rows of a model without optimizer state: the weights, with FTRL's z set so that
/// FtrlRule::Weight(z, n = 0) is the weight, AdaGrad's accumulator 0. `finalizer_width` is
/// the rule's state width (MiniBatchFinalizer::StateWidth).
ps::TableShard<float> TableFromWeights(const LrModel& model, const UpdateOptions& update,
                                       std::uint32_t table, std::uint32_t finalizer_width);

/// Scheduler: the plan continues the model: its scaling (so that its numeric weights keep
/// their meaning) and epoch count (batch orders); logged.
void StartFrom(const WarmStart& w, TrainPlan* plan, spdlog::logger& log);

/// Scheduler, at the end: the trained model's history (this run's `epochs` and `clocks` on
/// top of `warm`'s, when given) and optimizer state (from the servers' `shards`; none when
/// they sent none: SGD, DP-SGD).
Status RecordTraining(std::vector<WeightShard> shards, std::uint32_t epochs, std::uint64_t clocks,
                      const WarmStart* warm, LrModel* model);

/// Scheduler, with --featindex: refuses (InvalidArgument naming the key and names) when a key
/// that the model names has lost one of its names in `names` (the featindex now gives that
/// feature another index); a featindex that only adds names is accepted.
Status CheckFeatindex(const WarmStart& w, const FeatureNames& names, const std::string& featindex);

/// Scheduler, with --featindex: records in `model` the names of the keys it trained.
void RecordNames(const FeatureNames& names, LrModel* model);

/// metrics.json's "init_model": path, epochs and clocks trained before, optimizer_state.
nlohmann::json WarmStartJson(const WarmStart& w);

}  // namespace ecps::models::lr
