#include "models/lr/lr_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include <cereal/types/array.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tbb/info.h>

#include "models/lr/index_names.h"
#include "models/lr/lr_data.h"
#include "models/lr/lr_checkpoint.h"
#include "models/lr/lr_kernels.h"
#include "models/lr/lr_messages.h"
#include "ps/collective.h"
#include "scheduler/progress.h"
#include "scheduler/traffic.h"
#include "util/files.h"
#include "worker/line_reader.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {
namespace {

// Distinct libsvm/libffm indices named in the weights files (one pass over --train, without
// --featindex).
constexpr std::size_t kMaxIndexNames = std::size_t{1} << 20;
// Scheduler, DP-SGD: the plan with its key, and the servers' noise set up before the workers
// get it.
Status StartDp(ps::Node& node, const LrOptions& options, std::uint64_t rows, std::uint64_t batch, TrainPlan* plan) {
  ECPS_ASSIGN_OR_RETURN(DpStart start, StartDp(options.dp, options.update.algorithm == Algorithm::kSgd, rows, batch,
                                               options.epochs, node.log()));
  plan->dp = true;
  plan->dp_plan = start.plan;
  const auto servers = ps::ServerRanks(node.roles());
  for (ps::Rank s : servers) ECPS_RETURN_IF_ERROR(node.SendControl(s, kDpServerTopic, ps::EncodeControl(start.server)));
  for (ps::Rank s : servers) {
    ECPS_RETURN_IF_ERROR_CTX(node.RecvControl(kDpAckTopic, s, node.DefaultDeadline()).status(), "DP noise set-up");
  }
  return Status::Ok();
}

// A warning when the final evaluation's threshold called no example positive: recall is then
// 0, precision and F1 undefined (null), and accuracy the share of negatives. Names the
// threshold that maximises F1 instead.
void WarnOfAnEmptyThreshold(spdlog::logger& log, const nlohmann::json& eval) {
  if (eval["predicted_positive_at_threshold"].is_null() ||
      eval["predicted_positive_at_threshold"].get<double>() > 0 || eval["best_f1"].is_null()) {
    return;
  }
  const auto& best = eval["best_f1"];
  log.warn("lr: no evaluated example scores >= --threshold {}: recall is 0, precision and F1 are "
           "undefined and accuracy is the share of negatives; F1 is highest ({:.4f}, precision "
           "{:.4f}, recall {:.4f}) from --threshold {:.4g} (metrics.json: best_f1)",
           eval["threshold"].get<double>(), best["f1"].get<double>(),
           best["precision"].get<double>(), best["recall"].get<double>(),
           best["threshold"].get<double>());
}

// What to try when a training diverges (its weights or loss overflow to inf or nan).
constexpr const char* kDivergedHint =
    "lower --alpha (ftrl) or --learning-rate (sgd, adagrad), or scale the features";

}  // namespace

LrMemoryEstimate LrJob::EstimateMemory(int staleness) const {
  return EstimateLrMemory(parser_ ? parser_->num_keys() : 1, options_.update.algorithm, staleness,
                          tbb::info::default_concurrency(), options_.dp.enabled());
}

LrJob::LrJob(LrOptions options) : options_(std::move(options)) { init_ = Init(); }

Status LrJob::Init() {
  ECPS_RETURN_IF_ERROR(options_.Validate());
  ECPS_ASSIGN_OR_RETURN(auto p, MakeTrainingParser(options_.parser, options_.train[0]));
  parser_ = std::make_unique<worker::ExampleParser>(std::move(p));
  if (!options_.init_model.empty()) {
    ECPS_ASSIGN_OR_RETURN(warm_, LoadWarmStart(options_, *parser_));
  }
  return Status::Ok();
}

std::vector<ps::TableSpec> LrJob::Tables() const {
  return {{kWeights, "lr.weights", ps::ValueType::kFloat32, 1, parser_ ? parser_->num_keys() : 1, true}};
}

Status LrJob::SetupServer(ps::KVServer& server) {
  ECPS_RETURN_IF_ERROR(init_);
  // The table's own rule is unused (a clocked table with a finalizer); the finalizer keeps
  // the real rule and its state.
  auto finalizer = std::make_unique<MiniBatchFinalizer>(options_.update);
  finalizer_ = finalizer.get();
  return server.AddTable<float>(Tables()[0], std::make_unique<ps::SumRule<float>>(), std::move(finalizer));
}

Status LrJob::RunServer(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  warm_.reset();  // the scheduler sends this server its range
  if (!options_.dp.enabled()) return ServeCheckpoints(options_, ctx.node, *ctx.server, *finalizer_);
  // The noise settings arrive before any worker starts (the scheduler waits for this ack).
  ps::Node& node = ctx.node;
  // They follow the workers' loading, which may take longer than one default deadline; a lost
  // scheduler aborts the job.
  auto got = node.RecvControl(kDpServerTopic, ps::RoleTable::kSchedulerRank, node.DefaultDeadline());
  while (!got.ok() && got.status().code() == StatusCode::kTimeout && !node.aborted()) {
    got = node.RecvControl(kDpServerTopic, ps::RoleTable::kSchedulerRank, node.DefaultDeadline());
  }
  ECPS_RETURN_IF_ERROR_CTX(got.status(), "waiting for the DP settings");
  DpServerParams params;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(got->control, &params));
  ECPS_RETURN_IF_ERROR(finalizer_->EnableDp(params, node.index()));
  return node.SendControl(ps::RoleTable::kSchedulerRank, kDpAckTopic, {});
}

Result<sched::ShardPlan> LrJob::MakePlan(const ps::RoleTable& roles) {
  ECPS_RETURN_IF_ERROR(init_);
  since_plan_.Restart();
  // Read the feature names now: a bad --featindex stops the job before training, not after.
  if (!options_.featindex.empty()) {
    ECPS_RETURN_IF_ERROR(AddFeatindexNames(options_.featindex, *parser_, &featindex_names_));
    if (warm_) ECPS_RETURN_IF_ERROR(CheckFeatindex(*warm_, featindex_names_, options_.featindex));
  }
  return PlanTrainTest(options_.out, options_.train, options_.test, roles.num_workers());
}

Status LrJob::RunWorker(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  warm_.reset();
  ps::KVClient& kv = *ctx.client;
  ps::Node& node = ctx.node;
  const int w = node.index();
  const auto& parser = *parser_;
  const auto& ranges = ctx.plan.file_ranges[static_cast<std::size_t>(w)];
  auto deadline = [&] { return node.DefaultDeadline(); };

  // ---- Load this worker's rows -------------------------------------------------------
  worker::LoadOptions lo;
  lo.skip_bad_rows = options_.skip_bad_rows;
  const bool dp = options_.dp.enabled();
  // Under DP nothing computed from the training rows leaves the worker except through the
  // noisy steps: no scaling statistics, category names or bad-row texts.
  const bool impute = options_.impute != ImputeMode::kNone;
  lo.keep_values = !dp && (options_.standardize || impute) && !parser.csv_columns().numeric.empty();
  lo.max_categories = dp ? 0 : kMaxCategoryNames;
  ECPS_ASSIGN_OR_RETURN(WorkerShard shard, LoadWorkerShard(ranges, options_.train.size(), parser, lo,
                                                           options_.test.empty() ? options_.holdout : 0.0,
                                                           options_.seed));
  worker::SparseData& train = shard.train;
  worker::SparseData& test = shard.eval;
  SetupReport report;
  report.train_rows = train.rows();
  report.test_rows = test.rows();
  report.nnz = train.nnz();
  report.bad_rows = shard.stats.bad_rows;
  if (!dp) report.bad_messages = std::move(shard.stats.bad_messages);
  report.categories = std::move(shard.stats.categories);
  if (lo.keep_values) ReportNumeric(train, test, parser, impute, &report);
  report.load_s = shard.load_s;
  const auto workers = ps::WorkerRanks(node.roles());
  ECPS_RETURN_IF_ERROR_CTX(ps::Gather(node, kSetupTopic, workers, report, deadline()).status(), "load report");
  if (options_.impute == ImputeMode::kMedian) ECPS_RETURN_IF_ERROR(MedianCounts(node, workers, SortedColumns(train, parser)));
  TrainPlan plan;
  ECPS_RETURN_IF_ERROR_CTX(ps::Broadcast(node, kPlanTopic, workers, &plan, deadline()), "training plan");
  Impute(plan.impute, parser, &train);
  Impute(plan.impute, parser, &test);
  ApplyScaling(plan.scaling, parser, &train);
  ApplyScaling(plan.scaling, parser, &test);

  // ---- Train ---------------------------------------------------------------------------
  const std::uint64_t K = parser.num_keys();
  const ps::Stopwatch t_group;
  BatchedRows batches;
  if (!plan.dp) {
    batches = GroupByBatch(train, K, options_.seed, plan.num_batches);
    train = {};  // the batched copy replaces it
  }
  const double group_s = t_group.Seconds();
  const int chunks = std::max(1, tbb::info::default_concurrency());
  GradientKernel kernel(chunks);
  const privacy::PoissonSampler sampler(plan.dp_plan.key, plan.dp_plan.sample_rate);
  KeyIndex step_index(plan.dp ? K : 0);
  bool fixed_keys = false;  // DP: every step uses the keys of all rows (DpFixedKeys)
  bool all_keys = false;    // DP: ... and those are most of the key space: pull and push it all
  if (plan.dp) {
    step_index.Build(train, nullptr);
    fixed_keys = DpFixedKeys(step_index.keys().size(), train.nnz(), plan.dp_plan.sample_rate);
    if (fixed_keys && step_index.keys().size() * 2 >= K) {
      // Whole ranges travel without their keys, and a key is its own position.
      all_keys = true;
      step_index.BuildAll();
    }
  }
  const float scale = options_.update.algorithm == Algorithm::kSgd ? static_cast<float>(1.0 / plan.nominal_batch) : 1.0f;
  KeyIndex test_index(K);
  test_index.Build(test, nullptr);
  std::vector<ps::Key> keys;
  std::vector<float> weights, test_weights, grads, probs;
  ClipScratch dp_scratch;  // DP: ClippedGradient's buffers, kept across steps
  EpochSamples samples;    // DP: this epoch's Poisson samples of the rows (memory kept across epochs)
  // `whole`: ks is every key, [0, K), pulled as a range (no key list).
  auto pull = [&](const std::vector<ps::Key>& ks, std::vector<float>* out, bool whole = false) -> Status {
    out->resize(ks.size());
    if (ks.empty()) return Status::Ok();
    const ps::Handle h = whole ? kv.PullRange<float>(kWeights, 0, ks.size(), *out) : kv.Pull<float>(kWeights, ks, *out);
    return kv.Wait(h, deadline()).WithContext("pull lr.weights");
  };

  const int staleness = ctx.consistency.Bound();
  const std::uint64_t steps_per_epoch = plan.dp ? plan.dp_plan.steps_per_epoch : plan.num_batches;
  WorkerCheckpoints checkpoints(options_, node, kv, static_cast<std::uint32_t>(chunks),
                                steps_per_epoch * static_cast<std::uint64_t>(options_.epochs));
  ECPS_ASSIGN_OR_RETURN(const ProgressMsg resumed, checkpoints.Resume(plan.resume));
  for (int epoch = resumed.epoch; epoch < options_.epochs; ++epoch) {
    const ps::Stopwatch t_epoch;
    const std::vector<std::uint32_t> order =
        plan.dp ? std::vector<std::uint32_t>()
                : EpochBatchOrder(plan.num_batches, options_.seed, epoch + plan.epoch_offset);
    ProgressMsg msg;
    msg.epoch = epoch;
    std::size_t first_step = 0;
    if (plan.resume && epoch == resumed.epoch) {  // the epoch's sums so far go on
      msg.examples = resumed.examples;
      msg.loss_sum = resumed.loss_sum;
      msg.nnz = resumed.nnz;
      first_step = resumed.step;
    }
    if (epoch == 0) msg.index_s = group_s;
    ps::Stopwatch last_report = t_epoch;
    const std::size_t num_steps = plan.dp ? plan.dp_plan.steps_per_epoch : order.size();
    if (plan.dp) {
      const ps::Stopwatch t_sample;
      // With one key list for the run, the samples hold positions in it.
      SampleEpoch(train, sampler, static_cast<std::uint32_t>(epoch), plan.dp_plan.steps_per_epoch, &samples,
                  fixed_keys ? &step_index : nullptr);
      msg.compute_s += t_sample.Seconds();
    }
    for (std::size_t step = first_step; step < num_steps; ++step) {
      std::span<const std::uint32_t> members;
      if (plan.dp) {
        const ps::Stopwatch t_sample;
        members = samples.Step(static_cast<std::uint32_t>(step));
        if (!fixed_keys || step == 0) {
          if (!fixed_keys) step_index.Build(train, &members);
          keys = step_index.keys();
        }
        msg.compute_s += t_sample.Seconds();
      } else {
        const auto bkeys = batches.Keys(order[step]);
        keys.assign(bkeys.begin(), bkeys.end());
      }
      const ps::Stopwatch t_pull;
      ECPS_RETURN_IF_ERROR(pull(keys, &weights, all_keys));
      msg.wait_s += t_pull.Seconds();
      const ps::Stopwatch t_grad;
      if (plan.dp) {
        ClippedGradient(samples.StepRows(static_cast<std::uint32_t>(step)), step_index, weights.data(),
                        plan.dp_plan.clip, &grads, &dp_scratch, samples.positions);
        // Progress counts expected rows: the realised sample sizes stay on the worker.
        msg.examples += static_cast<std::uint64_t>(plan.dp_plan.expected_batch / node.roles().num_workers());
      } else {
        const std::uint32_t b = order[step];
        msg.loss_sum += kernel.Gradient(batches, b, weights.data(), scale, &grads);
        msg.nnz += batches.Nnz(b);
        msg.examples += batches.Rows(b);
      }
      msg.compute_s += t_grad.Seconds();
      ps::Handle push = 0;
      if (all_keys) {
        push = kv.PushRange<float>(kWeights, 0, K, grads);
      } else if (!keys.empty()) {
        push = kv.Push<float>(kWeights, keys, grads);
      }
      Status clocked = kv.Clock().WithContext("clock");
      const ps::Stopwatch t_wait;
      // The push borrows `grads` until its Wait returns, also when the clock failed.
      const std::pair<ps::Handle, const char*> pushed[] = {{push, "push lr.weights"}};
      ECPS_RETURN_IF_ERROR(kv.WaitAll(pushed, deadline(), std::move(clocked)));
      ECPS_RETURN_IF_ERROR(checkpoints.AfterClock(msg, static_cast<std::uint32_t>(step + 1)));
      msg.wait_s += t_wait.Seconds();
      if (last_report.Seconds() >= options_.progress_interval_s) {
        last_report.Restart();
        ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kProgressTopic, ps::EncodeControl(msg)));
      }
    }
    // The final evaluation sees every update: under SSP after `staleness` empty clocks;
    // under ASP (pulls never wait) once every worker has sent all its clocks, which the
    // servers receive before this worker's later pull on every transport we have (the
    // in-process one is FIFO per receiver; MPI delivers the earlier small messages first in
    // practice, though it does not promise it across senders).
    if (epoch + 1 == options_.epochs && staleness > 0) {
      for (int i = 0; i < staleness; ++i) ECPS_RETURN_IF_ERROR(kv.Clock());
    }
    if (epoch + 1 == options_.epochs && staleness < 0) {
      ECPS_RETURN_IF_ERROR_CTX(node.Barrier(ps::BarrierGroup::kWorkers, deadline()), "final barrier");
    }
    if (evaluating()) {
      ECPS_RETURN_IF_ERROR(pull(test_index.keys(), &test_weights));
      Score(test, test_index, test_weights.data(), &probs);
      msg.eval = BinaryEval::From(probs, test.labels(), options_.threshold);
      msg.has_eval = true;
    }
    msg.epoch_end = true;
    msg.epoch_s = t_epoch.Seconds();
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kProgressTopic, ps::EncodeControl(msg)));
  }
  // Every clock of this worker precedes this message on each server (FIFO per pair).
  for (ps::Rank s : ps::ServerRanks(node.roles())) ECPS_RETURN_IF_ERROR(node.SendControl(s, kDoneTopic, {}));
  return Status::Ok();
}

Status LrJob::RunScheduler(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  ps::Node& node = ctx.node;
  WarnAboutIdentifiers(*parser_, node.log());
  const auto workers = ps::WorkerRanks(node.roles());
  const int W = static_cast<int>(workers.size());
  SchedulerCheckpoints checkpoints(
      options_, fmt::format("{} (staleness {})", ctx.consistency.Name(), ctx.consistency.Bound()), W);
  ECPS_RETURN_IF_ERROR(checkpoints.Start(node.log()));
  ECPS_ASSIGN_OR_RETURN(auto reports, ps::Gather(node, kSetupTopic, workers, SetupReport{}, node.DefaultDeadline()));
  SetupReport all;
  const std::size_t num_numeric = parser_->csv_columns().numeric.size();
  all.numeric.Resize(num_numeric);
  std::vector<std::set<std::string>> cats(parser_->csv_columns().categorical.size());
  double load_s = 0;
  for (const auto& r : reports) {
    all.train_rows += r.train_rows;
    all.test_rows += r.test_rows;
    all.nnz += r.nnz;
    all.bad_rows += r.bad_rows;
    for (const auto& m : r.bad_messages) {
      if (all.bad_messages.size() < 10) all.bad_messages.push_back(m);
    }
    all.numeric.Merge(r.numeric);
    for (std::size_t j = 0; j < r.categories.size() && j < cats.size(); ++j) {
      cats[j].insert(r.categories[j].begin(), r.categories[j].end());
    }
    load_s = std::max(load_s, r.load_s);
  }
  for (auto& c : cats) categories_.emplace_back(c.begin(), c.end());
  ECPS_ASSIGN_OR_RETURN(impute_, PlanImputation(options_.impute, reports, parser_->csv_columns().numeric, node,
                                                 workers, &all));
  if (all.train_rows == 0) {
    return DataError(fmt::format("no training examples in {}", fmt::join(options_.train, ", ")));
  }
  if (all.bad_rows > 0) {
    node.log().warn("lr: skipped {} bad row(s); first: {}", all.bad_rows, all.bad_messages.front());
  }
  if (options_.export_weights != WeightExport::kNone && !parser_->has_header() && options_.featindex.empty() &&
      !options_.dp.enabled()) {
    // The scheduler is idle while the workers train (on a cluster, a node of its own).
    index_names_ = std::async(std::launch::async, [this] {
      FeatureNames names;
      Status s = AddIndexNames(options_.train, *parser_, kMaxIndexNames, &names);
      return std::make_pair(std::move(s), std::move(names));
    });
  }
  TrainPlan plan;
  const std::uint64_t batch =
      options_.batch_size > 0
          ? options_.batch_size
          : std::clamp<std::uint64_t>(all.train_rows / 200, LrOptions::kMinAutoBatch, LrOptions::kMaxAutoBatch);
  plan.num_batches = static_cast<std::uint32_t>(
      std::clamp<std::uint64_t>((all.train_rows + batch / 2) / batch, 1, std::uint64_t{1} << 30));
  plan.nominal_batch = static_cast<double>(all.train_rows) / plan.num_batches;
  const bool dp = options_.dp.enabled();
  if (options_.standardize && num_numeric > 0 && !dp) plan.scaling = all.numeric.Scaling(options_.log_transform);
  if (warm_) StartFrom(*warm_, &plan, node.log());
  plan.impute = impute_;
  model_.scaling = plan.scaling;
  if (dp) {
    if (options_.test.empty() && options_.holdout > 0) {
      node.log().warn("lr: DP-SGD: the holdout metrics come from held-out training rows and are outside the "
                      "privacy guarantee; give --test for metrics of public data");
    }
    if (options_.standardize && num_numeric > 0) {
      node.log().warn("lr: DP-SGD: numeric columns are used as they are (scaling them by the training data's own "
                      "statistics would not be private); scale them beforehand with public bounds");
    }
    ECPS_RETURN_IF_ERROR(StartDp(node, options_, all.train_rows, options_.batch_size, &plan));
  }
  const std::uint64_t clock_offset = warm_ ? warm_->model.clocks_trained : 0;
  if (checkpoints.resumed()) {
    ECPS_RETURN_IF_ERROR(checkpoints.LoadServers(node, all, plan.num_batches, clock_offset));
    plan.resume = true;
  } else if (warm_) {
    ECPS_RETURN_IF_ERROR(LoadServerShards(node, {warm_->table}, false, 0, clock_offset, "--init-model " + warm_->path));
  }
  clocks_ = std::uint64_t{plan.num_batches} * static_cast<std::uint64_t>(options_.epochs);
  ECPS_RETURN_IF_ERROR_CTX(ps::Broadcast(node, kPlanTopic, workers, &plan, node.DefaultDeadline()), "training plan");
  if (plan.resume) ECPS_RETURN_IF_ERROR(checkpoints.SendPositions(node));
  if (dp) {
    plan.num_batches = plan.dp_plan.steps_per_epoch;
    plan.nominal_batch = plan.dp_plan.expected_batch;
  }
  node.log().info("lr: {} training rows ({} non-zeros), {} evaluation rows, {} worker(s), {} {}batches of ~{:.0f} per "
                  "epoch, loaded in {:.2f} s",
                  all.train_rows, all.nnz, all.test_rows, W, plan.num_batches, dp ? "Poisson " : "",
                  plan.nominal_batch, load_s);

  ECPS_ASSIGN_OR_RETURN(auto jsonl, util::JsonLinesLog::Open(options_.out + "/metrics.jsonl"));
  sched::ProgressOptions po;
  po.quiet = node.log().level() > spdlog::level::info;
  sched::Progress progress(node.log(), "lr", all.train_rows * static_cast<std::uint64_t>(options_.epochs), po);
  const ps::Stopwatch t_train;
  std::map<ps::Rank, ProgressMsg> latest;  // per worker, its latest message of the current epoch
  struct EpochAcc {
    int ends = 0;
    ProgressMsg sum;
    BinaryEval eval;
    double max_s = 0;
    std::vector<double> nnz_per_s;
    std::vector<nlohmann::json> time_split;
  };
  std::map<int, EpochAcc> epochs;
  SchedulerProgress done_epochs;  // what a checkpoint saves of this loop
  if (checkpoints.resumed()) done_epochs = checkpoints.resumed()->progress;
  for (const auto& l : done_epochs.lines) ECPS_RETURN_IF_ERROR(jsonl->Append(nlohmann::json::parse(l)));
  int& finished = done_epochs.finished;
  double& last_loss = done_epochs.last_loss;
  std::vector<double> nnz_per_s;
  nlohmann::json final_eval = nlohmann::json::parse(done_epochs.final_eval);
  BinaryEval last_eval;  // the last epoch's, for curves.json
  ps::Stopwatch last_epoch_line;
  ps::Deadline idle_deadline = node.DefaultDeadline();
  while (finished < options_.epochs) {
    auto got = node.RecvControl(kProgressTopic, -1, std::min(idle_deadline, ps::DeadlineIn(0.5)));
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kTimeout && ps::SteadyClock::now() < idle_deadline) continue;
      return got.status().WithContext("waiting for worker progress");
    }
    idle_deadline = node.DefaultDeadline();
    ProgressMsg m;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(got->control, &m));
    const ps::Rank from = got->head.sender;
    latest[from] = m;
    ECPS_RETURN_IF_ERROR(checkpoints.OnProgress(node, from, m, done_epochs, all, plan.num_batches));
    std::uint64_t done = static_cast<std::uint64_t>(finished) * all.train_rows;
    double loss = 0, seen = 0;
    for (const auto& [r, p] : latest) {
      if (p.epoch == finished) {
        done += p.examples;
        loss += p.loss_sum;
        seen += static_cast<double>(p.examples);
      }
    }
    const double el = t_train.Seconds();
    progress.Update(done, fmt::format("epoch {}/{}, {}{:.0f} ex/s", finished + 1, options_.epochs,
                                      dp ? std::string() : fmt::format("train loss {:.4f}, ", seen > 0 ? loss / seen : last_loss),
                                      el > 0 ? done / el : 0.0));
    if (!m.epoch_end) continue;
    EpochAcc& acc = epochs[m.epoch];
    ++acc.ends;
    acc.sum.examples += m.examples;
    acc.sum.loss_sum += m.loss_sum;
    acc.sum.nnz += m.nnz;
    acc.max_s = std::max(acc.max_s, m.epoch_s);
    acc.nnz_per_s.push_back(m.compute_s > 0 ? static_cast<double>(m.nnz) / m.compute_s : 0.0);
    acc.time_split.push_back({{"gradient_s", m.compute_s}, {"index_s", m.index_s}, {"wait_s", m.wait_s},
                              {"epoch_s", m.epoch_s}});
    if (m.has_eval) acc.eval.Merge(m.eval);
    while (epochs.count(finished) && epochs[finished].ends == W) {
      EpochAcc& e = epochs[finished];
      nlohmann::json line;
      line["epoch"] = finished + 1;
      last_loss = e.sum.loss_sum / std::max<double>(1.0, static_cast<double>(e.sum.examples));
      if (!std::isfinite(last_loss)) {
        return DataError(fmt::format("training diverged: the training log-loss of epoch {} is {}; {}",
                                     finished + 1, last_loss, kDivergedHint));
      }
      std::string spent;
      if (dp) {  // no statistics of the training rows; the budget spent so far instead
        ECPS_ASSIGN_OR_RETURN(const double eps,
                              EpsilonAfter(plan.dp_plan, std::uint64_t{plan.dp_plan.steps_per_epoch} * (finished + 1),
                                           options_.dp.conversion));
        line["epsilon"] = eps;
        spent = fmt::format("epsilon {:.4g} of {:.4g} spent", eps, plan.dp_plan.epsilon);
      } else {
        line["train_logloss"] = last_loss;
        line["train_examples"] = e.sum.examples;
        spent = fmt::format("train logloss {:.5f}", last_loss);
      }
      line["seconds"] = e.max_s;
      if (!dp) {  // under DP these would count the secret samples
        line["examples_per_s"] = e.max_s > 0 ? static_cast<double>(e.sum.examples) / e.max_s : 0.0;
        line["nnz_per_s_per_worker"] = e.nnz_per_s;
      }
      line["worker_seconds"] = e.time_split;
      if (evaluating()) {
        final_eval = e.eval.ToJson(options_.threshold);
        last_eval = e.eval;
        line["test"] = final_eval;
      }
      ECPS_RETURN_IF_ERROR(jsonl->Append(line));
      done_epochs.lines.push_back(line.dump());
      done_epochs.final_eval = final_eval.dump();
      // Every epoch is in metrics.jsonl; the log gets the first ten, the last, and then one a
      // progress interval at most (epochs of milliseconds would flood it: a launcher that
      // stops reading a full stdout then stalls the scheduler in the middle of a line).
      const bool log_epoch = finished < 10 || finished + 1 == options_.epochs ||
                             last_epoch_line.Seconds() >= options_.progress_interval_s;
      if (log_epoch) {
        last_epoch_line.Restart();
        node.log().info("lr: epoch {}/{}: {}{}, {:.2f} s", finished + 1, options_.epochs, spent,
                        evaluating() ? fmt::format(", {} auc {:.5f} logloss {:.5f}",
                                                   options_.test.empty() ? "holdout" : "test",
                                                   final_eval["auc"].is_null() ? NAN : final_eval["auc"].get<double>(),
                                                   final_eval["logloss"].is_null() ? NAN : final_eval["logloss"].get<double>())
                                     : std::string(),
                        e.max_s);
      }
      if (!dp) nnz_per_s = e.nnz_per_s;
      epochs.erase(finished);
      ++finished;
      latest.clear();
    }
  }
  ECPS_RETURN_IF_ERROR(checkpoints.End(node));
  const double train_s = t_train.Seconds();
  progress.Finish(dp ? fmt::format("epsilon {:.4g}", plan.dp_plan.epsilon) : fmt::format("train loss {:.4f}", last_loss));

  nlohmann::json& j = metrics_;
  j = nlohmann::json::object();
  if (evaluating()) {
    for (auto& [k, v] : final_eval.items()) j[k] = v;
    WarnOfAnEmptyThreshold(node.log(), final_eval);
    ECPS_RETURN_IF_ERROR(
        util::WriteJsonFile(options_.out + "/curves.json", last_eval.CurvesJson(options_.threshold)));
  } else {
    j["auc"] = nullptr;
    j["logloss"] = nullptr;
  }
  j["evaluated_on"] = EvaluatedOn(options_.test, options_.holdout, options_.seed);
  j["train_logloss"] = dp ? nlohmann::json(nullptr) : nlohmann::json(last_loss);
  j["train_rows"] = all.train_rows;
  j["train_nnz"] = all.nnz;
  j["eval_rows"] = all.test_rows;
  j["bad_rows"] = all.bad_rows;
  j["bad_row_examples"] = all.bad_messages;
  j["epochs"] = options_.epochs;
  j["batches_per_epoch"] = plan.num_batches;
  j["batch_size"] = plan.nominal_batch;
  j["load_seconds"] = load_s;
  j["train_seconds"] = train_s;
  j["examples_per_s"] = train_s > 0 ? static_cast<double>(all.train_rows) * options_.epochs / train_s : 0.0;
  j["nnz_per_s_per_worker"] = nnz_per_s;
  j["roles"] = {{"servers", node.roles().num_servers()}, {"workers", W}};
  j["consistency"] = std::string(ctx.consistency.Name());
  j["staleness"] = ctx.consistency.Bound();
  j["config"] = options_.ToJson();
  if (options_.checkpoint.writes() || options_.checkpoint.resume) j["checkpoints"] = checkpoints.Json();
  if (warm_) j["init_model"] = WarmStartJson(*warm_);
  if (impute_.mode != ImputeMode::kNone) {
    j["impute"] = ImputeJson(impute_, parser_->csv_columns().numeric, all.missing,
                             impute_.mode == ImputeMode::kDrop ? all.rows_missing : 0);
  }
  if (dp) {
    j["privacy"] = PrivacyJson(plan.dp_plan, options_.dp.conversion);
    if (options_.dp.has_seed) j["privacy"]["test_seed"] = true;  // replayable: not private
  }
  return Status::Ok();
}


Status LrJob::FinishServer(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  ps::Node& node = ctx.node;
  for (ps::Rank w : ps::WorkerRanks(node.roles())) {
    ECPS_RETURN_IF_ERROR_CTX(node.RecvControl(kDoneTopic, w, node.DefaultDeadline()).status(),
                             "waiting for the workers' last clocks");
  }
  const auto values = ctx.server->Rows<float>(kWeights);
  const ps::KeyRange range = ctx.server->RangeOf(kWeights);
  WeightShard shard;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 0.0f) {
      shard.keys.push_back(static_cast<std::uint32_t>(range.begin + i));
      shard.weights.push_back(values[i]);
    }
  }
  if (finalizer_->StateWidth() > 0 && options_.save_state && !options_.dp.enabled()) {  // for --init-model
    auto state = ctx.server->SaveShard<float>(kWeights);
    if (state.ok()) {
      shard.state = std::move(state).value();
    } else {
      node.log().warn("lr: model.bin gets no optimizer state: {}", state.status().message());
    }
  }
  return ps::Gather(node, kWeightsTopic, ps::ServerRanks(node.roles()), shard, node.DefaultDeadline()).status();
}

Status LrJob::FinishScheduler(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR(init_);
  ps::Node& node = ctx.node;
  ECPS_ASSIGN_OR_RETURN(auto shards, ps::Gather(node, kWeightsTopic, ps::ServerRanks(node.roles()), WeightShard{},
                                                node.DefaultDeadline()));
  model_.algorithm = AlgorithmName(options_.update.algorithm);
  model_.SetFeatureSpace(*parser_);
  model_.impute = impute_;
  model_.keys.clear();
  model_.weights.clear();
  for (const auto& s : shards) {  // servers own ascending key ranges
    model_.keys.insert(model_.keys.end(), s.keys.begin(), s.keys.end());
    model_.weights.insert(model_.weights.end(), s.weights.begin(), s.weights.end());
  }
  ECPS_RETURN_IF_ERROR(RecordTraining(std::move(shards), static_cast<std::uint32_t>(options_.epochs), clocks_,
                                      warm_.get(), &model_));
  if (!options_.featindex.empty()) RecordNames(featindex_names_, &model_);
  const auto bad = std::find_if(model_.weights.begin(), model_.weights.end(), [](float w) { return !std::isfinite(w); });
  if (bad != model_.weights.end()) {
    const std::size_t i = static_cast<std::size_t>(bad - model_.weights.begin());
    return DataError(fmt::format("training diverged: the weight of key {} is {} ({} of {} non-zero weights are "
                                 "not finite); no model written; {}",
                                 model_.keys[i], *bad,
                                 std::count_if(bad, model_.weights.end(), [](float w) { return !std::isfinite(w); }),
                                 model_.weights.size(), kDivergedHint));
  }
  const ps::Stopwatch t_write;
  ECPS_RETURN_IF_ERROR(SaveLrModel(options_.out + "/model.bin", model_, options_.encrypt.get()));
  if (options_.export_weights != WeightExport::kNone) {
    FeatureNames names = featindex_names_;
    if (parser_->has_header()) {
      AddCsvNames(*parser_, categories_, &names);
    } else if (index_names_.valid()) {
      auto [status, found] = index_names_.get();
      ECPS_RETURN_IF_ERROR(status);
      names = std::move(found);
    }
    if (options_.parser.bias) names.Add(static_cast<std::uint32_t>(parser_->bias_key()), "(bias)");
    const WeightExport e = options_.export_weights;
    ECPS_RETURN_IF_ERROR(ExportWeights(model_, names, options_.out, e != WeightExport::kJson,
                                       e != WeightExport::kCsv, options_.encrypt.get()));
  }
  metrics_["nonzero_weights"] = model_.keys.size();
  metrics_["num_keys"] = parser_->num_keys();
  if (parser_->has_header()) metrics_["csv_column_types"] = parser_->csv_columns().notes;
  // model.bin and the weight files (with any wait for the names still being read)
  metrics_["write_seconds"] = t_write.Seconds();
  metrics_["total_seconds"] = since_plan_.Seconds();
  if (!options_.dp.enabled()) metrics_["transport"] = sched::TrafficJson(node);  // follows the data
  ECPS_RETURN_IF_ERROR(util::WriteJsonFile(options_.out + "/metrics.json", metrics_));
  node.log().info("lr: wrote {}/model.bin ({} non-zero weights of {}) and metrics.json", options_.out,
                  model_.keys.size(), parser_->num_keys());
  return Status::Ok();
}

}  // namespace ecps::models::lr
