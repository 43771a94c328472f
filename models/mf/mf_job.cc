#include "models/mf/mf_job.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "models/cf/ingest_job.h"
#include "models/cf/progress.h"
#include "models/cf/recommend.h"
#include "models/mf/als.h"
#include "models/mf/mf_model.h"
#include "models/mf/mf_state.h"
#include "ps/collective.h"
#include "ps/stopwatch.h"
#include "scheduler/progress.h"

namespace ecps::models::mf {
namespace {

// Rows [begin, end) of a table of `width` doubles into or from `rows`, in pieces of about
// cf::kChunk values.
Status PullRange(ps::KVClient& kv, ps::TableId table, std::uint64_t begin, std::uint64_t end,
                 std::size_t width, double* rows, ps::Deadline deadline) {
  const std::uint64_t per = std::max<std::uint64_t>(1, cf::kChunk / width);
  for (std::uint64_t b = begin; b < end; b += per) {
    const std::uint64_t e = std::min(end, b + per);
    std::span<double> out(rows + (b - begin) * width, (e - b) * width);
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PullRange<double>(table, b, e, out), deadline));
  }
  return Status::Ok();
}

Status PushRange(ps::KVClient& kv, ps::TableId table, std::uint64_t begin, std::uint64_t end,
                 std::size_t width, const double* rows, ps::Deadline deadline) {
  const std::uint64_t per = std::max<std::uint64_t>(1, cf::kChunk / width);
  for (std::uint64_t b = begin; b < end; b += per) {
    const std::uint64_t e = std::min(end, b + per);
    std::span<const double> in(rows + (b - begin) * width, (e - b) * width);
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PushRange<double>(table, b, e, in), deadline));
  }
  return Status::Ok();
}

// Pull (push = false) or push the rows `keys` (sorted) of a table of `width` doubles.
Status MoveKeys(ps::KVClient& kv, ps::TableId table, std::span<const ps::Key> keys,
                std::size_t width, double* rows, bool push, ps::Deadline deadline) {
  const std::size_t per = std::max<std::size_t>(1, cf::kChunk / width);
  for (std::size_t b = 0; b < keys.size(); b += per) {
    const auto part = keys.subspan(b, std::min(per, keys.size() - b));
    std::span<double> vals(rows + b * width, part.size() * width);
    const ps::Handle h = push ? kv.Push<double>(table, part, vals) : kv.Pull<double>(table, part, vals);
    ECPS_RETURN_IF_ERROR(kv.Wait(h, deadline));
  }
  return Status::Ok();
}

// Items of worker w's block.
std::pair<std::uint32_t, std::uint32_t> ItemBlock(std::uint32_t n_items, int w, int workers) {
  const auto n = static_cast<std::uint64_t>(n_items), W = static_cast<std::uint64_t>(workers);
  const auto ww = static_cast<std::uint64_t>(w);
  return {static_cast<std::uint32_t>(n * ww / W), static_cast<std::uint32_t>(n * (ww + 1) / W)};
}

// G + lambda I from an upper triangle.
Eigen::MatrixXd Regularised(std::span<const double> upper, std::size_t f, double lambda) {
  Eigen::MatrixXd g = GramFromUpper(upper, f);
  g.diagonal().array() += lambda;
  return g;
}

struct Scratch {
  Eigen::MatrixXd a;
  Eigen::VectorXd b;
};

class MfJob final : public sched::Job {
 public:
  MfJob(const MfOptions& options, const cf::Settings& settings,
        std::shared_ptr<cf::RankState> state)
      : options_(options), settings_(settings), state_(std::move(state)) {}
  std::string name() const override { return "mf"; }
  std::vector<ps::TableSpec> Tables() const override {
    const auto f = static_cast<std::uint32_t>(options_.factors);
    std::vector<ps::TableSpec> t = {
        {kMatrix, "mf.matrix", ps::ValueType::kFloat64, 2, std::max<std::uint64_t>(1, state_->nnz), false},
        {kItems, "mf.items", ps::ValueType::kFloat64, f, std::max<std::uint32_t>(1, state_->n_items), false},
        {kUsers, "mf.users", ps::ValueType::kFloat64, f, std::max<std::uint32_t>(1, state_->n_users), false}};
    if (rating()) {
      t.push_back({kBias, "mf.bias", ps::ValueType::kFloat64, 1,
                   std::max<std::uint64_t>(1, std::uint64_t{state_->n_items} + state_->n_users), false});
    } else {
      t.push_back({kGram, "mf.gram", ps::ValueType::kFloat64, static_cast<std::uint32_t>(GramSize(f)),
                   static_cast<ps::Key>(options_.iterations), false});
    }
    return t;
  }
  Status SetupServer(ps::KVServer& server) override {
    for (const auto& t : Tables()) {
      std::unique_ptr<ps::Rule<double>> rule;
      if (t.id == kGram) {
        rule = std::make_unique<ps::SumRule<double>>();
      } else {
        rule = std::make_unique<ps::AssignRule<double>>();
      }
      ECPS_RETURN_IF_ERROR(server.AddTable<double>(t, std::move(rule)));
    }
    return Status::Ok();
  }
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override {
    sched::ShardPlan p;
    p.num_workers = roles.num_workers();
    p.file_ranges.resize(static_cast<std::size_t>(p.num_workers));
    return p;
  }
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  Status FinishServer(sched::JobContext&) override { return Status::Ok(); }
  Status FinishScheduler(sched::JobContext& ctx) override {
    return WriteMfOutputs(ctx,
                          {options_, settings_, *state_, reports_, factors_, iteration_s_, rating_});
  }

 private:
  std::size_t f() const { return static_cast<std::size_t>(options_.factors); }
  bool rating() const { return options_.task == MfTask::kRating; }
  Status PushMatrix(ps::KVClient& kv, ps::Deadline deadline);
  Result<ItemBlockRows> PullBlock(ps::KVClient& kv, int w, int workers, ps::Deadline deadline);
  /// One iteration's item half for this worker's block: solves its items from X^T X (key
  /// `it` of mf.gram; the rating task from the block's residuals instead) and the users'
  /// rows of mf.users, and pushes them into mf.items.
  Status SolveItems(ps::KVClient& kv, const ItemBlockRows& blk, int it, ps::Deadline deadline);
  /// Rating task, before the iterations: mu and the range (among the workers), the biases
  /// through mf.bias (two worker barriers) and the residuals into `*base`.
  Status PrepareRatings(sched::JobContext& ctx, const ItemBlockRows& blk, RatingBaseline* base);

  const MfOptions& options_;
  const cf::Settings& settings_;
  std::shared_ptr<cf::RankState> state_;
  // Scheduler.
  std::vector<cf::WorkerReport> reports_;
  std::vector<Factors> factors_;
  std::vector<double> iteration_s_;
  std::vector<RatingEval> rating_;
  // Worker (rating task).
  RatingBaseline base_;
};

// This worker's training interactions into mf.matrix at the ingest job's item-major offsets.
Status MfJob::PushMatrix(ps::KVClient& kv, ps::Deadline deadline) {
  const cf::OwnUsers& own = state_->own;
  const auto& entities = state_->entities;
  std::vector<std::uint32_t> pos(state_->n_items, 0), next(entities.size(), 0);
  for (std::size_t k = 0; k < entities.size(); ++k) pos[entities[k]] = static_cast<std::uint32_t>(k);
  std::vector<ps::Key> keys;
  std::vector<double> vals;
  keys.reserve(own.train_item.size());
  vals.reserve(2 * own.train_item.size());
  for (std::size_t p = 0; p < own.size(); ++p) {
    const auto items = own.Train(p);
    const auto values = own.Values(p);
    for (std::size_t t = 0; t < items.size(); ++t) {
      const std::uint32_t k = pos[items[t]];
      keys.push_back(state_->offsets[k] + next[k]++);
      vals.push_back(own.users[p]);
      vals.push_back(values.empty() ? 1.0 : values[t]);
    }
  }
  // Keys must be sorted for a push.
  std::vector<std::size_t> order(keys.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  std::vector<ps::Key> sorted_keys(keys.size());
  std::vector<double> sorted_vals(vals.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    sorted_keys[i] = keys[order[i]];
    sorted_vals[2 * i] = vals[2 * order[i]];
    sorted_vals[2 * i + 1] = vals[2 * order[i] + 1];
  }
  return MoveKeys(kv, kMatrix, sorted_keys, 2, sorted_vals.data(), true, deadline)
      .WithContext("push mf.matrix");
}

Result<ItemBlockRows> MfJob::PullBlock(ps::KVClient& kv, int w, int workers, ps::Deadline deadline) {
  ItemBlockRows blk;
  std::tie(blk.begin, blk.end) = ItemBlock(state_->n_items, w, workers);
  const auto& ptr = state_->ptr;
  const std::uint64_t lo = ptr[blk.begin], hi = ptr[blk.end];
  std::vector<double> raw(2 * (hi - lo));
  ECPS_RETURN_IF_ERROR_CTX(PullRange(kv, kMatrix, lo, hi, 2, raw.data(), deadline), "pull mf.matrix");
  // Within an item, entries arrive grouped by the worker that pushed them: sort by user so
  // that every item's sums run in the same order for any number of workers.
  std::vector<std::pair<std::uint32_t, float>> entries;
  for (std::uint32_t j = blk.begin; j < blk.end; ++j) {
    entries.clear();
    for (std::uint64_t q = ptr[j]; q < ptr[j + 1]; ++q) {
      entries.emplace_back(static_cast<std::uint32_t>(raw[2 * (q - lo)]),
                           static_cast<float>(raw[2 * (q - lo) + 1]));
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& [u, v] : entries) {
      blk.col.push_back(u);
      blk.val.push_back(v);
    }
    blk.ptr.push_back(blk.col.size());
  }
  blk.users.assign(blk.col.begin(), blk.col.end());
  std::sort(blk.users.begin(), blk.users.end());
  blk.users.erase(std::unique(blk.users.begin(), blk.users.end()), blk.users.end());
  for (auto& c : blk.col) {
    c = static_cast<std::uint32_t>(std::lower_bound(blk.users.begin(), blk.users.end(), ps::Key{c}) -
                                   blk.users.begin());
  }
  // Implicit data: every value is 1, and SolveRow takes an empty span as all ones.
  // (The rating task keeps them: its residuals are computed from the values.)
  if (!rating() && std::all_of(blk.val.begin(), blk.val.end(), [](float v) { return v == 1.0f; })) {
    blk.val.clear();
  }
  return blk;
}

Status MfJob::SolveItems(ps::KVClient& kv, const ItemBlockRows& blk, int it, ps::Deadline deadline) {
  const std::size_t width = f();
  Eigen::MatrixXd gram;
  if (!rating()) {
    std::vector<double> upper(GramSize(width));
    ECPS_RETURN_IF_ERROR_CTX(
        kv.Wait(kv.PullRange<double>(kGram, static_cast<ps::Key>(it), static_cast<ps::Key>(it) + 1,
                                     std::span<double>(upper)),
                deadline),
        "pull mf.gram");
    gram = Regularised(upper, width, options_.regularization);
  }
  std::vector<double> x(blk.users.size() * width);
  ECPS_RETURN_IF_ERROR_CTX(MoveKeys(kv, kUsers, blk.users, width, x.data(), false, deadline),
                           "pull mf.users");
  std::vector<double> y(std::size_t{blk.end - blk.begin} * width);
  tbb::enumerable_thread_specific<Scratch> scratch;
  tbb::parallel_for(tbb::blocked_range<std::uint32_t>(blk.begin, blk.end, 64), [&](const auto& r) {
    Scratch& s = scratch.local();
    for (std::uint32_t j = r.begin(); j != r.end(); ++j) {
      const std::size_t i = j - blk.begin;
      const std::span<const std::uint32_t> cols(blk.col.data() + blk.ptr[i], blk.ptr[i + 1] - blk.ptr[i]);
      const std::span<double> out(y.data() + i * width, width);
      if (rating()) {
        SolveRowExplicit(x, width, cols,
                         std::span<const double>(base_.blk_residual.data() + blk.ptr[i], cols.size()),
                         options_.regularization, out, &s.a, &s.b);
        continue;
      }
      const std::span<const float> vals =
          blk.val.empty() ? std::span<const float>{}
                          : std::span<const float>(blk.val.data() + blk.ptr[i], cols.size());
      SolveRow(gram, x, width, cols, vals, options_.alpha, out, &s.a, &s.b);
    }
  });
  return PushRange(kv, kItems, blk.begin, blk.end, width, y.data(), deadline).WithContext("push mf.items");
}

Status MfJob::PrepareRatings(sched::JobContext& ctx, const ItemBlockRows& blk, RatingBaseline* base) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const cf::OwnUsers& own = state_->own;
  ECPS_ASSIGN_OR_RETURN(const std::vector<RatingStats> stats,
                        ps::AllGather(node, kTopicRatingStats, ps::WorkerRanks(node.roles()),
                                      LocalRatingStats(own), deadline()));
  CombineRatingStats(stats, base);
  // Item biases by item block, then user biases by owner, through mf.bias.
  const std::vector<double> blk_item_bias = BlockItemBiases(blk, *base);
  ECPS_RETURN_IF_ERROR_CTX(PushRange(kv, kBias, blk.begin, blk.end, 1, blk_item_bias.data(), deadline()),
                           "push mf.bias");
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  base->item_bias.resize(state_->n_items);
  ECPS_RETURN_IF_ERROR_CTX(PullRange(kv, kBias, 0, state_->n_items, 1, base->item_bias.data(), deadline()),
                           "pull mf.bias");
  OwnUserBiases(own, base);
  std::vector<ps::Key> keys(own.users.begin(), own.users.end());
  for (auto& k : keys) k += state_->n_items;
  ECPS_RETURN_IF_ERROR_CTX(MoveKeys(kv, kBias, keys, 1, base->own_bias.data(), true, deadline()),
                           "push mf.bias");
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  keys = blk.users;
  for (auto& k : keys) k += state_->n_items;
  std::vector<double> blk_user_bias(keys.size());
  ECPS_RETURN_IF_ERROR_CTX(MoveKeys(kv, kBias, keys, 1, blk_user_bias.data(), false, deadline()),
                           "pull mf.bias");
  Residuals(own, blk, blk_user_bias, base);
  return Status::Ok();
}

Status MfJob::RunWorker(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const int w = node.index(), workers = node.roles().num_workers();
  const cf::OwnUsers& own = state_->own;
  const std::size_t width = f();
  const std::uint32_t n_items = state_->n_items;
  const ps::Stopwatch als_time;
  ECPS_RETURN_IF_ERROR(PushMatrix(kv, deadline()));
  // The initial item factors of this worker's block (a function of the seed and the item).
  {
    const auto [b0, b1] = ItemBlock(n_items, w, workers);
    std::vector<double> y0(std::size_t{b1 - b0} * width);
    for (std::uint32_t j = b0; j < b1; ++j) {
      for (std::size_t k = 0; k < width; ++k) {
        y0[(j - b0) * width + k] = rating() ? ExplicitInitialFactor(options_.cf.seed, j, k, width)
                                            : InitialFactor(options_.cf.seed, j, k);
      }
    }
    ECPS_RETURN_IF_ERROR_CTX(PushRange(kv, kItems, b0, b1, width, y0.data(), deadline()), "push mf.items");
  }
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  ECPS_ASSIGN_OR_RETURN(const ItemBlockRows blk, PullBlock(kv, w, workers, deadline()));
  if (rating()) ECPS_RETURN_IF_ERROR(PrepareRatings(ctx, blk, &base_));

  std::vector<double> y(std::size_t{n_items} * width), x(own.size() * width);
  std::vector<ps::Key> own_keys(own.users.begin(), own.users.end());
  tbb::enumerable_thread_specific<Scratch> scratch;
  for (int it = 0; it < options_.iterations; ++it) {
    const ps::Stopwatch iteration_time;
    // User half: Y from the servers, Y^T Y here (the same on every worker).
    ECPS_RETURN_IF_ERROR_CTX(PullRange(kv, kItems, 0, n_items, width, y.data(), deadline()),
                             "pull mf.items");
    std::vector<double> upper(GramSize(width), 0.0);
    Eigen::MatrixXd gram;
    if (!rating()) {
      AddGram(y, width, upper);
      gram = Regularised(upper, width, options_.regularization);
    }
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, own.size(), 64), [&](const auto& r) {
      Scratch& s = scratch.local();
      for (std::size_t p = r.begin(); p != r.end(); ++p) {
        const std::span<double> out(x.data() + p * width, width);
        if (rating()) {
          const std::span<const double> res(base_.own_residual.data() + own.train_ptr[p],
                                            own.Train(p).size());
          SolveRowExplicit(y, width, own.Train(p), res, options_.regularization, out, &s.a, &s.b);
        } else {
          SolveRow(gram, y, width, own.Train(p), own.Values(p), options_.alpha, out, &s.a, &s.b);
        }
      }
    });
    ECPS_RETURN_IF_ERROR_CTX(MoveKeys(kv, kUsers, own_keys, width, x.data(), true, deadline()),
                             "push mf.users");
    if (!rating()) {
      std::fill(upper.begin(), upper.end(), 0.0);
      AddGram(x, width, upper);
      ECPS_RETURN_IF_ERROR_CTX(
          kv.Wait(kv.PushRange<double>(kGram, static_cast<ps::Key>(it), static_cast<ps::Key>(it) + 1,
                                       std::span<const double>(upper)),
                  deadline()),
          "push mf.gram");
    }
    ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
    // Item half: this worker's block.
    ECPS_RETURN_IF_ERROR(SolveItems(kv, blk, it, deadline()));
    ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
    if (w == 0) {
      ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kTopicIteration,
                                            ps::EncodeControl(iteration_time.Seconds())));
    }
  }
  ECPS_RETURN_IF_ERROR_CTX(PullRange(kv, kItems, 0, n_items, width, y.data(), deadline()),
                           "pull mf.items");
  const double als_s = als_time.Seconds();

  const ps::Stopwatch recommend_time;
  cf::ProgressSender progress(node, kTopicRecommendProgress, 1);
  const cf::UserScorer scorer = [&](std::size_t p, cf::ItemScores* scores) {
    const double offset = rating() ? base_.mu + base_.own_bias[p] : 0.0;
    ScoreAllItems(y, std::span<const double>(x.data() + p * width, width), base_.item_bias, offset,
                  scores);
  };
  ECPS_ASSIGN_OR_RETURN(
      const cf::UserResults results,
      cf::RecommendAndEvaluate(kv, {options_.cf, settings_, *state_}, deadline(),
                               [&](std::uint64_t users) { return progress.Update(users); }, scorer));
  ECPS_RETURN_IF_ERROR(progress.Finish(own.size()));
  ECPS_RETURN_IF_ERROR(node.SendControl(
      ps::RoleTable::kSchedulerRank, cf::kTopicReport,
      cf::EncodeWorkerReport(0, als_s, own, results, options_.cf.save_model, recommend_time.Seconds())));
  if (rating()) {
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kTopicRatingEval,
                                          ps::EncodeControl(EvaluateRatings(own, base_, x, y, width))));
  }
  if (!options_.cf.save_model) return Status::Ok();
  Factors mine{own.users, std::move(x), w == 0 ? std::move(y) : std::vector<double>{}, base_.own_bias,
               w == 0 ? base_.item_bias : std::vector<double>{}};
  return node.SendControl(ps::RoleTable::kSchedulerRank, kTopicFactors, ps::EncodeControl(mine));
}

Status MfJob::RunScheduler(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  sched::ProgressOptions po;
  po.quiet = options_.cf.quiet;
  sched::Progress progress(node.log(), "mf iterations", static_cast<std::uint64_t>(options_.iterations), po);
  const int worker0 = node.roles().WorkerRank(0);
  for (int it = 0; it < options_.iterations; ++it) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicIteration, worker0, node.DefaultDeadline()));
    double seconds = 0;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &seconds));
    iteration_s_.push_back(seconds);
    const std::string detail = fmt::format("{:.3f} s/iteration", seconds);
    node.log().debug("mf iteration {}/{}: {}", it + 1, options_.iterations, detail);
    progress.Update(static_cast<std::uint64_t>(it) + 1, detail);
  }
  progress.Finish();
  ECPS_RETURN_IF_ERROR(cf::ShowWorkerProgress(node, kTopicRecommendProgress, "mf recommending, users",
                                              state_->n_users, options_.cf));
  const int workers = node.roles().num_workers();
  for (int w = 0; w < workers; ++w) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(cf::kTopicReport, node.roles().WorkerRank(w),
                                                          node.DefaultDeadline()));
    ECPS_ASSIGN_OR_RETURN(cf::WorkerReport report,
                          cf::DecodeWorkerReport(std::move(m), options_.cf.metrics_k.size()));
    reports_.push_back(std::move(report));
  }
  if (rating()) {
    rating_.resize(static_cast<std::size_t>(workers));
    for (int w = 0; w < workers; ++w) {
      ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicRatingEval, node.roles().WorkerRank(w),
                                                            node.DefaultDeadline()));
      ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &rating_[static_cast<std::size_t>(w)]));
    }
  }
  if (!options_.cf.save_model) return Status::Ok();
  factors_.resize(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicFactors, node.roles().WorkerRank(w),
                                                          node.DefaultDeadline()));
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &factors_[static_cast<std::size_t>(w)]));
  }
  return Status::Ok();
}

}  // namespace

Status MfOptions::Validate() const {
  ECPS_RETURN_IF_ERROR(cf.Validate());
  if (factors < 1 || factors > 512)
    return InvalidArgument(fmt::format("--factors must be in [1, 512], got {}", factors));
  if (iterations < 1 || iterations > 1000)
    return InvalidArgument(fmt::format("--iterations must be in [1, 1000], got {}", iterations));
  if (!(regularization >= 0 && std::isfinite(regularization)))
    return InvalidArgument(fmt::format("--regularization must be finite and >= 0, got {}", regularization));
  if (!(alpha >= 0 && std::isfinite(alpha)))
    return InvalidArgument(fmt::format("--alpha must be finite and >= 0, got {}", alpha));
  return Status::Ok();
}

nlohmann::json MfOptions::ToJson() const {
  nlohmann::json j = cf.ToJson();
  for (const char* cf_only : {"similarity", "neighbors", "shrinkage", "min_support", "block_size",
                              "scoring", "recency_decay"}) {
    j.erase(cf_only);
  }
  j["factors"] = factors;
  j["iterations"] = iterations;
  j["regularization"] = regularization;
  j["alpha"] = alpha;
  j["task"] = task == MfTask::kRating ? "rating" : "ranking";
  return j;
}

Status TrainMf(const MfOptions& given, const ClusterRunner& run) {
  MfOptions options = given;
  options.cf.kind = cf::CfKind::kItemCf;  // the ingest lays the matrix out item-major
  options.cf.write_neighbors = false;
  // The ingest job sizes item-CF's neighbour lists and may refuse a run they would not fit;
  // mf has none: the smallest lists keep that estimate out of the way.
  options.cf.neighbors = 1;
  options.cf.item_attributes.clear();
  ECPS_RETURN_IF_ERROR(options.Validate());
  if (options.task == MfTask::kRating) {
    if (options.cf.feedback == cf::Feedback::kImplicit) {
      return InvalidArgument("--task rating predicts ratings: it cannot take --feedback implicit");
    }
    ECPS_ASSIGN_OR_RETURN(const worker::InteractionFormat format,
                          worker::DetectInteractionFormat(
                              options.cf.train, {options.cf.header, options.cf.delimiter, options.cf.columns}));
    if (!format.has_rating()) {
      return InvalidArgument(fmt::format("--task rating: {} has no rating column ({}); give a file "
                                         "with user, item and rating columns (--columns)",
                                         options.cf.train, format.Describe()));
    }
    options.cf.feedback = cf::Feedback::kExplicit;
  }
  ECPS_ASSIGN_OR_RETURN(const cf::Settings settings, cf::ResolveSettings(&options.cf));
  cf::RankStates states;
  const ps::Stopwatch training_time;
  ECPS_RETURN_IF_ERROR(run([&](ps::Rank rank) -> std::shared_ptr<sched::Job> {
    auto state = states.Get(rank);
    state->since_start = training_time;
    return std::make_shared<cf::IngestJob>(options.cf, settings, state);
  }));
  states.ForEach([&](cf::RankState& state) { state.ingest_s = training_time.Seconds(); });
  return run([&](ps::Rank rank) {
    return std::make_shared<MfJob>(options, settings, states.Get(rank));
  });
}

}  // namespace ecps::models::mf
