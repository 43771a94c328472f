#include "models/kmeans/kmeans.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <queue>
#include <thread>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include "models/common/binary_curves.h"
#include "models/common/binary_metrics.h"
#include "models/common/csv_field.h"
#include "models/common/sealed_output.h"
#include "models/kmeans/checkpoint.h"
#include "models/kmeans/impute.h"
#include "models/kmeans/kernel.h"
#include "models/kmeans/messages.h"
#include "models/kmeans/profiles.h"
#include "models/kmeans/quality.h"
#include "models/kmeans/worker_run.h"
#include "ps/collective.h"
#include "ps/stopwatch.h"
#include "scheduler/progress.h"
#include "scheduler/traffic.h"
#include "util/files.h"
#include "util/output_folder.h"

namespace ecps::models::kmeans {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json NumberOrNull(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// The initialisation a run used: under DP no k-means++ or k-means|| (they read the data).
const char* ReportedInit(const KMeansOptions& o) {
  if (!o.dp.enabled() || o.init == InitMethod::kFile) return InitMethodName(o.init);
  return o.dp.plan.init_steps > 0 ? "dp-histogram" : "uniform-in-bounds";
}

double Median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}
}  // namespace

// ---- Options -------------------------------------------------------------------------------

const char* InitMethodName(InitMethod method) {
  switch (method) {
    case InitMethod::kPlusPlus: return "kmeans++";
    case InitMethod::kParallel: return "kmeans-parallel";
    case InitMethod::kFile: return "file";
  }
  return "?";
}

const char* RiskScoreName(RiskScore score) {
  return score == RiskScore::kDistance ? "distance" : "relative";
}

Status KMeansOptions::Validate() const {
  if (data.empty()) return InvalidArgument("--data: give the input CSV file");
  if (out.empty()) return InvalidArgument("--out: give the output folder");
  if (k < 1) return InvalidArgument("--k must be >= 1");
  if (k > (1u << 20)) return InvalidArgument(fmt::format("--k {} is too large (at most 1048576)", k));
  if (init == InitMethod::kFile && !std::filesystem::exists(init_file)) {
    return NotFound(fmt::format("--init \"{}\": not kmeans++ or kmeans-parallel, and no such file", init_file));
  }
  if (init_steps < 1) return InvalidArgument(fmt::format("--init-steps must be >= 1, got {}", init_steps));
  if (oversampling < 0) return InvalidArgument("--oversampling must be >= 0 (0 = 2k)");
  if (max_iter < 1) return InvalidArgument(fmt::format("--max-iter must be >= 1, got {}", max_iter));
  if (!(tol >= 0)) return InvalidArgument("--tol must be >= 0");
  if (!(anomaly_rate > 0 && anomaly_rate < 1)) {
    return InvalidArgument(fmt::format("--anomaly-rate must be in (0, 1), got {}", anomaly_rate));
  }
  for (const auto& c : mask_columns) {
    if (c != "id" && c != columns.id_column) {
      return InvalidArgument(fmt::format(
          "--mask-columns: \"{}\" is not a column of the outputs that copies input (only the id: "
          "id or \"{}\")",
          c, columns.id_column));
    }
  }
  return checkpoint.Validate(out);
}

bool KMeansOptions::MasksIds() const { return !mask_columns.empty(); }

nlohmann::json KMeansOptions::ToJson() const {
  return {{"data", data},
          {"id_column", columns.id_column},
          {"features", columns.features},
          {"one_hot", columns.one_hot},
          {"ordinal", columns.ordinal},
          {"label_column", columns.label_column},
          {"skip_bad_rows", skip_bad_rows},
          {"init_steps", init_steps},
          {"oversampling", oversampling},
          {"anomaly_scores", anomaly_scores},
          {"hierarchy", hierarchy},
          {"anomaly_rate", anomaly_rate},
          {"score", RiskScoreName(score)},
          {"out", out}};
}

Result<worker::FeatureSchema> PrepareKMeans(const KMeansOptions& options) {
  ECPS_RETURN_IF_ERROR(options.Validate());
  return worker::FeatureSchema::Make(options.columns);
}

Status PrepareDp(KMeansOptions* options, const worker::FeatureSchema& schema) {
  auto& dp = options->dp;
  if (!dp.enabled()) return Status::Ok();
  const auto refuse = [](const char* option, const char* why) {
    return InvalidArgument(fmt::format("{}: not available under --dp-epsilon ({})", option, why));
  };
  if (options->checkpoint.writes() || options->checkpoint.resume) {
    return refuse("--checkpoint-dir/--resume", "not implemented yet for private runs");
  }
  if (options->impute == Impute::kMean || options->impute == Impute::kMedian) {
    return refuse("--impute", "the mean and median are statistics of the data; use zero or drop");
  }
  if (options->normalize != Normalize::kMinMax) {
    return refuse("--normalize", "a private run maps every feature to [0, 1] by its --dp-bounds");
  }
  if (schema.has_label()) return refuse("--label-column", "the ROC AUC is a statistic of the data");
  if (options->anomaly_scores) {
    return refuse("--anomaly-scores",
                  "the flag threshold is a quantile of the data; assignments.csv's distance to the "
                  "private centroid is each user's risk score");
  }
  if (!(dp.delta > 0 && dp.delta < 1)) return InvalidArgument("--dp-delta must be in (0, 1)");
  if (!(dp.count_share > 0 && dp.count_share < 1)) {
    return InvalidArgument("--dp-count-share must be in (0, 1)");
  }
  // Numeric features take their bounds from --dp-bounds; encoded ones have known ranges.
  std::vector<std::string> numeric;
  for (const auto& c : schema.columns()) {
    if (c.kind == worker::ColumnEncoding::Kind::kNumeric) numeric.push_back(c.column);
  }
  std::vector<double> lo, hi;
  ECPS_RETURN_IF_ERROR(ParseDpBounds(dp.bounds, numeric, &lo, &hi));
  dp.lo.clear();
  dp.hi.clear();
  std::size_t next = 0;
  for (const auto& c : schema.columns()) {
    using Kind = worker::ColumnEncoding::Kind;
    const std::size_t m = c.categories.size();
    if (c.kind == Kind::kNumeric) {
      dp.lo.push_back(lo[next]);
      dp.hi.push_back(hi[next++]);
    } else if (c.kind == Kind::kOneHot) {
      dp.lo.insert(dp.lo.end(), m, 0.0);
      dp.hi.insert(dp.hi.end(), m, 1.0);
    } else {
      dp.lo.push_back(0.0);
      dp.hi.push_back(std::max(1.0, static_cast<double>(m) - 1));
    }
  }
  const bool histogram = options->init != InitMethod::kFile && DpGrid::For(schema.dim()).cells > 0;
  ECPS_ASSIGN_OR_RETURN(dp.plan,
                        PlanDpNoise(dp, options->max_iter, schema.dim(), histogram ? 1 : 0));
  options->silhouette_sample = 0;
  options->score = RiskScore::kDistance;
  return Status::Ok();
}

// ---- Job -----------------------------------------------------------------------------------

struct KMeansJob::SchedulerState {
  std::vector<worker::LoadReport> loads;
  std::vector<PhaseReport> iterations;
  Summary summary;
  double silhouette = kNaN;
  std::uint64_t silhouette_sample = 0;
  double anomaly_threshold = std::numeric_limits<double>::infinity();
  double threshold_tie = 0;
  std::uint64_t flagged = 0;
  bool has_auc = false;
  ScoreCounts auc_relative, auc_distance;
  std::uint64_t rows_written = 0;
  double epsilon_spent = 0;  ///< DP: after the last iteration reported
  SchedulerCheckpoints checkpoints;
  ps::Stopwatch job;            ///< since RunScheduler began
  double quality_seconds = 0;   ///< silhouette, anomaly threshold, AUC
  double write_seconds = 0;     ///< assignments.csv, model.bin, profiles
};

KMeansJob::KMeansJob(KMeansOptions options, worker::FeatureSchema schema)
    : options_(std::move(options)), schema_(std::move(schema)),
      layout_(TableLayout::For(options_.k, schema_.dim())),
      state_(std::make_shared<SchedulerState>()) {}

std::vector<ps::TableSpec> KMeansJob::Tables() const {
  auto specs = layout_.Specs();
  if (options_.dp.enabled() && options_.dp.plan.init_steps > 0) {
    specs.push_back({kDpHistogramTable, "kmeans.dp_init", ps::ValueType::kFloat64, 1,
                     DpGrid::For(layout_.d).cells, true});
  }
  return specs;
}

Status KMeansJob::SetupServer(ps::KVServer& server) {
  const auto specs = layout_.Specs();
  const auto& dp = options_.dp;
  std::unique_ptr<ps::Finalizer<double>> stats = std::make_unique<StatsFinalizer>(layout_.d);
  // Under DP every noisy table has its own stream: from entropy, or replayed (--dp-seed).
  const auto noise = [&]() -> Result<std::optional<privacy::GaussianNoise>> {
    if (dp.test_seed) return std::optional<privacy::GaussianNoise>();
    ECPS_ASSIGN_OR_RETURN(auto n, privacy::GaussianNoise::FromEntropy());
    return std::optional<privacy::GaussianNoise>(std::move(n));
  };
  if (dp.enabled()) {
    ECPS_ASSIGN_OR_RETURN(auto stats_noise, noise());
    stats = std::make_unique<DpStatsFinalizer>(dp.plan, std::move(stats_noise), dp.test_seed);
  }
  if (dp.enabled() && dp.plan.init_steps > 0) {
    ECPS_ASSIGN_OR_RETURN(auto init_noise, noise());
    ECPS_RETURN_IF_ERROR(server.AddTable<double>(
        Tables().back(), std::make_unique<ps::SumRule<double>>(),
        std::make_unique<DpCountFinalizer>(dp.plan.sigma, std::move(init_noise), dp.test_seed)));
  }
  ECPS_RETURN_IF_ERROR(server.AddTable<double>(specs[0], std::make_unique<ps::SumRule<double>>(),
                                               std::move(stats)));
  ECPS_RETURN_IF_ERROR(server.AddTable<double>(specs[1], std::make_unique<ps::SumRule<double>>(),
                                               std::make_unique<ReduceFinalizer>(layout_.sums, layout_.maxes)));
  return server.AddTable<double>(specs[2], std::make_unique<ps::SumRule<double>>(),
                                 std::make_unique<TopFinalizer>(layout_.m, layout_.entry_width()));
}

Result<sched::ShardPlan> KMeansJob::MakePlan(const ps::RoleTable& roles) {
  return sched::PlanFiles({options_.data}, roles.num_workers());
}

Status KMeansJob::RunWorker(sched::JobContext& ctx) {
  return RunKMeansWorker(options_, schema_, layout_, ctx);
}

Status KMeansJob::RunScheduler(sched::JobContext& ctx) {
  auto& st = *state_;
  auto& node = ctx.node;
  const auto workers = ps::WorkerRanks(node.roles());
  const auto deadline = [&] { return node.DefaultDeadline(); };
  st.job.Restart();
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(options_.out));
  ECPS_ASSIGN_OR_RETURN(st.iterations, st.checkpoints.Start(options_, node));

  ECPS_ASSIGN_OR_RETURN(st.loads, ps::Gather(node, kLoadTopic, workers, worker::LoadReport{}, deadline()));
  std::uint64_t read = 0, skipped = 0, forwarded = 0, excluded = 0;
  for (const auto& l : st.loads) {
    read += l.rows_read;
    skipped += l.rows_skipped;
    forwarded += l.rows_forwarded;
    excluded += l.rows_excluded;
  }
  const auto& dp = options_.dp;
  if (dp.enabled()) {  // row counts and bad rows are statistics of the data
    node.log().info("kmeans: data read on {} worker(s); DP run: {} iterations, ε {} δ {}, noise "
                    "σ_count {:.4g} σ_sum {:.4g} (x sqrt(d) = {:.4g}){}",
                    workers.size(), dp.plan.iterations, dp.epsilon, dp.delta, dp.plan.sigma_count,
                    dp.plan.sigma_sum, dp.plan.sum_stddev(),
                    dp.test_seed ? "; --dp-seed: replayable noise, NOT PRIVATE" : "");
  } else {
    if (excluded > 0) node.log().info("kmeans: {} row(s) of opted-out users dropped", excluded);
    node.log().info(
        "kmeans: read {} rows ({} skipped as bad, {} forwarded to their owners) on {} worker(s)",
        read, skipped, forwarded, workers.size());
    for (const auto& l : st.loads) {
      for (const auto& e : l.skipped_examples) node.log().warn("skipped: {}", e);
    }
  }

  ECPS_ASSIGN_OR_RETURN(auto jsonl, util::JsonLinesLog::Open(options_.out + "/metrics.jsonl"));
  sched::ProgressOptions po;
  po.quiet = options_.quiet;
  // A private run does exactly its planned iterations; another stops when nothing moves, most
  // often well before --max-iter: the bound is named, but no share or time left is shown.
  sched::Progress progress(
      node.log(),
      dp.enabled() ? std::string("kmeans iteration")
                   : fmt::format("kmeans iteration (of at most {})", options_.max_iter),
      dp.enabled() ? static_cast<std::uint64_t>(dp.plan.iterations) : 0, po);
  for (const auto& r : st.iterations) ECPS_RETURN_IF_ERROR(jsonl->Append(IterationLine(r)));
  while (true) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kProgressTopic, workers[0], deadline()));
    PhaseReport r;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &r));
    if (r.kind == PhaseReport::kNormalized) {
      node.log().info("kmeans: normalised ({}) in {:.3f} s",
                      dp.enabled() ? "minmax by --dp-bounds, rows clipped"
                                   : NormalizeName(options_.normalize),
                      r.seconds);
    } else if (r.kind == PhaseReport::kInitialized) {
      node.log().info("kmeans: {} initial centroids ({}) in {:.3f} s", options_.k,
                      ReportedInit(options_),
                      r.seconds);
    } else if (r.kind == PhaseReport::kIteration && dp.enabled()) {
      // Only what the noisy centroids give: ε spent, their movement, time.
      st.iterations.push_back(r);
      ECPS_ASSIGN_OR_RETURN(st.epsilon_spent, dp.plan.EpsilonAfter(r.iteration));
      ECPS_RETURN_IF_ERROR(jsonl->Append({{"iteration", r.iteration},
                                          {"epsilon_spent", st.epsilon_spent},
                                          {"centroid_shift", r.shift},
                                          {"seconds", r.seconds}}));
      node.log().info("kmeans: DP iteration {}/{}: ε spent {:.6g} of {} (δ {}), shift {:.3g}",
                      r.iteration, dp.plan.iterations, st.epsilon_spent, dp.epsilon, dp.delta,
                      r.shift);
      progress.Update(static_cast<std::uint64_t>(r.iteration),
                      fmt::format("ε spent {:.4g}, shift {:.3g}", st.epsilon_spent, r.shift));
    } else if (r.kind == PhaseReport::kIteration) {
      st.iterations.push_back(r);
      ECPS_RETURN_IF_ERROR(jsonl->Append(IterationLine(r)));
      ECPS_RETURN_IF_ERROR(st.checkpoints.AfterIteration(options_, node, st.iterations));
      progress.Update(static_cast<std::uint64_t>(r.iteration),
                      fmt::format("inertia {:.6g}, shift {:.3g}, {} moved", r.inertia, r.shift, r.changed));
    } else if (dp.enabled()) {
      progress.Finish(fmt::format("{} private iteration(s), ε {:.6g}", r.iteration, st.epsilon_spent));
      break;
    } else {
      progress.Finish(fmt::format("final inertia {:.6g} after {} iteration(s)", r.inertia, r.iteration));
      break;
    }
  }
  ECPS_ASSIGN_OR_RETURN(ps::Message sm, node.RecvControl(kSummaryTopic, workers[0], deadline()));
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(sm.control, &st.summary));
  const std::size_t d = schema_.dim();
  ps::Stopwatch phase;

  if (options_.silhouette_sample > 0) {
    ECPS_ASSIGN_OR_RETURN(auto parts, ps::Gather(node, kSampleTopic, workers, SamplePart{}, deadline()));
    struct Pick {
      double key, tie;
      const SamplePart* part;
      std::size_t i;
    };
    std::vector<Pick> picks;
    for (const auto& p : parts) {
      for (std::size_t i = 0; i < p.keys.size(); ++i) picks.push_back({p.keys[i], p.ties[i], &p, i});
    }
    std::sort(picks.begin(), picks.end(),
              [](const Pick& a, const Pick& b) { return a.key < b.key || (a.key == b.key && a.tie < b.tie); });
    picks.resize(std::min<std::size_t>(picks.size(), options_.silhouette_sample));
    // In input order, so that the sum below does not depend on the split either.
    std::sort(picks.begin(), picks.end(), [](const Pick& a, const Pick& b) { return a.tie < b.tie; });
    std::vector<double> x;
    std::vector<std::int32_t> labels;
    for (const auto& p : picks) {
      x.insert(x.end(), p.part->x.begin() + static_cast<std::ptrdiff_t>(p.i * d),
               p.part->x.begin() + static_cast<std::ptrdiff_t>((p.i + 1) * d));
      labels.push_back(p.part->labels[p.i]);
    }
    st.silhouette_sample = labels.size();
    st.silhouette = Silhouette(x, labels, d, options_.k);
  }

  if (options_.anomaly_scores) {
    ECPS_ASSIGN_OR_RETURN(auto tops, ps::Gather(node, kTopScoresTopic, workers, TopScores{}, deadline()));
    std::vector<std::pair<double, double>> all;
    for (const auto& t : tops) {
      for (std::size_t i = 0; i < t.scores.size(); ++i) all.emplace_back(t.scores[i], t.ties[i]);
    }
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return Better(a.first, a.second, b.first, b.second); });
    const auto r = static_cast<std::size_t>(
        std::ceil(options_.anomaly_rate * static_cast<double>(st.summary.users)));
    if (r > 0 && !all.empty()) {
      const auto& last = all[std::min(r, all.size()) - 1];
      st.anomaly_threshold = last.first;
      st.threshold_tie = last.second;
    }
  }
  if (schema_.has_label()) {
    ECPS_ASSIGN_OR_RETURN(auto counts, ps::Gather(node, kAucTopic, workers, AucParts{}, deadline()));
    for (const auto& c : counts) {
      st.auc_relative.Merge(c.relative);
      st.auc_distance.Merge(c.distance);
    }
    st.has_auc = true;
  }
  st.quality_seconds = phase.Seconds();
  phase.Restart();

  // assignments.csv: the workers' streams merged by input order.
  ECPS_ASSIGN_OR_RETURN(auto file, OutputFile::Open(options_.out + "/assignments.csv",
                                                    options_.encrypt.get()));
  const bool with_scores = options_.anomaly_scores;
  const bool with_ids = !options_.MasksIds();
  ECPS_RETURN_IF_ERROR(file->Write(fmt::format("{}cluster,distance{}\n", with_ids ? "id," : "",
                                               with_scores ? ",score,anomaly" : "")));
  struct Stream {
    AssignChunk chunk;
    std::size_t pos = 0;
    bool done = false;  // the worker's last chunk has arrived
  };
  std::vector<Stream> streams(workers.size());
  auto refill = [&](std::size_t w) -> Status {
    auto& s = streams[w];
    while (s.pos >= s.chunk.offsets.size() && !s.done) {
      ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kAssignTopic, workers[w], deadline()));
      s.chunk = AssignChunk{};
      s.pos = 0;
      ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &s.chunk));
      s.done = s.chunk.last;
    }
    return Status::Ok();
  };
  using Head = std::pair<std::uint64_t, std::size_t>;  // (offset, stream)
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heap;
  for (std::size_t w = 0; w < streams.size(); ++w) {
    ECPS_RETURN_IF_ERROR(refill(w));
    if (streams[w].pos < streams[w].chunk.offsets.size()) heap.emplace(streams[w].chunk.offsets[0], w);
  }
  std::string buf;
  buf.reserve((1 << 20) + 4096);
  while (!heap.empty()) {
    const std::size_t w = heap.top().second;
    heap.pop();
    auto& s = streams[w];
    const auto& c = s.chunk;
    const std::size_t i = s.pos++;
    const std::uint64_t b = i ? c.text_end[i - 1] : 0;
    buf.append(c.text, b, c.text_end[i] - b);
    if (with_scores) {
      const double tie = static_cast<double>(c.offsets[i]);
      const bool flag = !Better(st.anomaly_threshold, st.threshold_tie, c.scores[i], tie);
      st.flagged += flag;
      buf += flag ? ",1" : ",0";
    }
    buf += '\n';
    ++st.rows_written;
    if (buf.size() > (1 << 20)) {
      ECPS_RETURN_IF_ERROR(file->Write(buf));
      buf.clear();
    }
    ECPS_RETURN_IF_ERROR(refill(w));
    if (s.pos < s.chunk.offsets.size()) heap.emplace(s.chunk.offsets[s.pos], w);
  }
  ECPS_RETURN_IF_ERROR(file->Write(buf));
  ECPS_RETURN_IF_ERROR(file->Commit());
  st.write_seconds = phase.Seconds();
  return Status::Ok();
}

Status KMeansJob::FinishScheduler(sched::JobContext& ctx) {
  auto& st = *state_;
  const auto& sum = st.summary;
  const std::size_t k = options_.k, d = schema_.dim();
  const auto& names = schema_.output_names();
  ps::Stopwatch phase;

  KMeansModel& model = result_.model;
  model.schema = schema_;
  model.normalizer = sum.normalizer;
  model.k = k;
  model.d = d;
  model.centroids = sum.centroids;
  model.sizes = sum.sizes;
  model.mean_distance = sum.mean_distance;
  model.anomaly_threshold = options_.anomaly_scores ? st.anomaly_threshold : std::numeric_limits<double>::infinity();
  model.score = RiskScoreName(options_.score);
  model.impute = sum.impute;
  result_.initial_centroids = sum.initial_centroids;
  // The readers' limit on values keeps every sum finite; this guards the model file anyway.
  for (std::size_t i = 0; i < model.centroids.size(); ++i) {
    if (!std::isfinite(model.centroids[i])) {
      return DataError(fmt::format("kmeans: centroid {} is not finite in feature \"{}\" ({}); no model written",
                                   i / d, names[i % d], model.centroids[i]));
    }
  }
  ECPS_RETURN_IF_ERROR(SaveKMeansModel(options_.out + "/model.bin", model, options_.encrypt.get()));

  const bool dp = options_.dp.enabled();
  ECPS_RETURN_IF_ERROR(WriteProfiles(options_.out, sum, names, dp, options_.hierarchy));
  st.write_seconds += phase.Seconds();

  std::uint64_t read = 0, skipped = 0, excluded = 0;
  std::vector<std::string> examples;
  for (const auto& l : st.loads) {
    read += l.rows_read;
    skipped += l.rows_skipped;
    excluded += l.rows_excluded;
    examples.insert(examples.end(), l.skipped_examples.begin(), l.skipped_examples.end());
  }
  std::vector<double> ms;
  for (double s : sum.iteration_seconds) ms.push_back(1e3 * s);
  const double ms_mean = ms.empty() ? kNaN : std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  nlohmann::json m = {
      {"model", "kmeans"},
      {"k", k},
      {"features", names},
      {"users", sum.users},
      {"rows_read", read},
      {"rows_skipped", skipped},
      {"skipped_examples", examples},
      {"inertia", sum.inertia},
      {"inertia_space", NormalizeName(sum.normalizer.kind)},
      {"iterations", sum.iterations},
      {"converged", sum.converged},
      {"stop_reason", sum.stop_reason},
      {"silhouette", NumberOrNull(st.silhouette)},
      {"silhouette_sample", st.silhouette_sample},
      {"silhouette_seed", options_.seed},  // the sample: the smallest U(seed, round, user)
      {"davies_bouldin", NumberOrNull(DaviesBouldin(sum.centroids, sum.mean_distance, sum.sizes, d))},
      {"sizes", sum.sizes},
      {"normalize", NormalizeName(options_.normalize)},
      {"init", InitMethodName(options_.init)},
      {"seed", options_.seed},
      {"tol", options_.tol},
      {"max_iter", options_.max_iter},
      {"timings",
       {{"load_s", sum.load_seconds},
        {"normalize_s", sum.normalize_seconds},
        {"init_s", sum.init_seconds},
        {"train_s", sum.train_seconds},
        {"ms_per_iteration_mean", NumberOrNull(ms_mean)},
        {"ms_per_iteration_median", NumberOrNull(Median(ms))}}},
      // Where the command's time went (seconds; the scheduler's clock for total).
      {"breakdown",
       {{"read_s", sum.load_seconds},
        {"normalize_s", sum.normalize_seconds},
        {"seed_s", sum.init_seconds},
        {"iterate_s", sum.train_seconds},
        {"final_assignment_s", sum.finish_seconds},
        {"quality_s", st.quality_seconds},
        {"write_s", st.write_seconds},
        {"total_s", st.job.Seconds()}}},
      {"cluster",
       {{"workers", ctx.node.roles().num_workers()},
        {"servers", ctx.node.roles().num_servers()},
        {"threads_per_worker", sum.threads},
        {"kernel", sum.kernel}}},
  };
  if (options_.init == InitMethod::kParallel) m["init_candidates"] = sum.init_candidates;
  if (options_.impute != Impute::kNone) m["impute"] = ImputeJson(sum, names);
  // The users k-means++ / k-means|| read: all, or a uniform sample of a large job.
  if (options_.init != InitMethod::kFile && !dp && !options_.checkpoint.resume) {
    m["init_sample"] = sum.init_sample;
  }
  if (options_.anomaly_scores) {
    m["anomaly"] = {{"score", RiskScoreName(options_.score)},
                    {"rate", options_.anomaly_rate},
                    {"threshold", NumberOrNull(st.anomaly_threshold)},
                    {"flagged", st.flagged}};
  }
  if (st.has_auc) {
    m["label_column"] = schema_.label_column();
    const double rel = ExactAuc(st.auc_relative), dist = ExactAuc(st.auc_distance);
    m["roc_auc"] = NumberOrNull(options_.score == RiskScore::kRelative ? rel : dist);
    m["roc_auc_by_score"] = {{"relative", NumberOrNull(rel)}, {"distance", NumberOrNull(dist)}};
    m["positives"] = st.auc_relative.positives();
    m["negatives"] = st.auc_relative.negatives();
    // The risk score's ROC, precision-recall and gain against the label (the report draws them).
    std::vector<std::pair<std::string, double>> marked;
    if (options_.anomaly_scores && std::isfinite(st.anomaly_threshold)) {
      marked.emplace_back("anomaly threshold", st.anomaly_threshold);
    }
    const ScoreCounts& counts =
        options_.score == RiskScore::kRelative ? st.auc_relative : st.auc_distance;
    ECPS_RETURN_IF_ERROR(
        util::WriteJsonFile(options_.out + "/curves.json", CurvesJson(counts, marked)));
  }
  if (options_.ids) {
    m["excluded_rows"] = excluded;
    m["pseudonymized"] = options_.ids->pseudonymizes();
  }
  m["config"] = options_.ToJson();
  if (options_.checkpoint.writes() || options_.checkpoint.resume) {
    m["checkpoints"] = st.checkpoints.Json();
  }
  if (dp) {
    // Statistics of the training data that no noise covers are left out (see README).
    const std::vector<std::string> omitted = {
        "users",      "rows_read",         "rows_skipped",   "skipped_examples",
        "inertia",    "silhouette",        "silhouette_sample", "davies_bouldin",
        "tol",        "converged",         "stop_reason",    "profiles.mean_distance",
        "profiles.overall_mean", "profiles.overall_sd", "profiles.users"};
    for (const auto& key : omitted) m.erase(key);
    m["omitted_under_dp"] = omitted;
    m["init"] = ReportedInit(options_);
    m["sizes_are_noisy"] = true;
    m["privacy"] = DpPrivacyJson(options_.dp.plan, st.epsilon_spent, names, options_.dp.lo,
                                 options_.dp.hi, options_.dp.test_seed.has_value());
  }
  if (!dp) m["transport"] = sched::TrafficJson(ctx.node);  // counts follow the data's size
  result_.metrics = m;
  ECPS_RETURN_IF_ERROR(util::WriteJsonFile(options_.out + "/metrics.json", m));
  if (dp) {
    ctx.node.log().info("kmeans: k={} private model (ε {:.6g}, δ {}) -> {}", k, st.epsilon_spent,
                        options_.dp.delta, options_.out);
    return Status::Ok();
  }
  ctx.node.log().info("kmeans: k={} inertia {:.6g} silhouette {} Davies-Bouldin {} -> {}", k,
                      sum.inertia, util::DumpJson(m["silhouette"]),
                      util::DumpJson(m["davies_bouldin"]), options_.out);
  return Status::Ok();
}

}  // namespace ecps::models::kmeans
