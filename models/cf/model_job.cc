#include "models/cf/model_job.h"

#include <algorithm>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "models/cf/checkpoint.h"
#include "models/cf/dp.h"
#include "models/kmeans/dp.h"
#include "models/cf/outputs.h"
#include "models/cf/pack.h"
#include "models/cf/progress.h"
#include "models/cf/recommend.h"
#include "models/cf/topk.h"
#include "ps/collective.h"
#include "scheduler/progress.h"

namespace ecps::models::cf {
namespace {

// Content similarity: cosine over the item features (binary attribute features, or weighted
// ones with item text).
SimilarityOptions ContentOptions(const ItemFeatures& f, std::size_t k) {
  SimilarityOptions c;
  c.measure = Measure::kCosine;
  c.k = k;
  c.binary = f.val.empty();
  return c;
}

// The content features of the items of `like`, as a block.
EntityBlock ContentBlock(const ItemFeatures& f, const EntityBlock& like, std::size_t k) {
  EntityBlock b;
  b.begin = like.begin;
  b.end = like.end;
  for (std::uint32_t e = b.begin; e <= b.end; ++e) b.ptr.push_back(f.ptr[e] - f.ptr[b.begin]);
  const auto first = static_cast<std::ptrdiff_t>(f.ptr[b.begin]);
  const auto last = static_cast<std::ptrdiff_t>(f.ptr[b.end]);
  b.ctx.assign(f.feat.begin() + first, f.feat.begin() + last);
  if (!f.val.empty()) b.val.assign(f.val.begin() + first, f.val.begin() + last);
  b.Prepare(ContentOptions(f, k), {}, static_cast<std::uint32_t>(f.names.size()));
  return b;
}

// One server's rows of a neighbour table, for the scheduler.
Status SendServerRows(sched::JobContext& ctx, ps::TableId table, std::uint32_t topic) {
  auto rows = ctx.server->Rows<double>(table);
  auto range = ctx.server->RangeOf(table);
  PodWriter w;
  w.AddValue(range.begin).AddValue(range.end).Add(rows);
  return ctx.node.SendControl(ps::RoleTable::kSchedulerRank, topic, w.Finish());
}

}  // namespace

std::vector<ps::TableSpec> ModelJob::Tables() const {
  const auto list_width = static_cast<std::uint32_t>(2 * settings_.sim.k);
  std::vector<ps::TableSpec> specs = {
      // A private run does not use it (one key).
      {kMatrix, "cf.matrix",
       MatrixIsFloat(options_, *state_) ? ps::ValueType::kFloat32 : ps::ValueType::kFloat64,
       MatrixWidth(settings_), dp() ? 1 : state_->nnz, false},
      {kNeighbors, "cf.neighbors", ps::ValueType::kFloat64, list_width, n_entities(), false},
      {kContextStats, "cf.context_stats", ps::ValueType::kFloat64, 2, n_contexts(), false},
      // Content neighbours of items (one unused key when there are no attributes).
      {kContent, "cf.content", ps::ValueType::kFloat64, list_width,
       HasContent(options_) ? state_->n_items : 1, false},
  };
  if (dp()) {
    specs.push_back({kDpCooc, "cf.dp_cooc", ps::ValueType::kFloat64, 1,
                     TriangleKeys(state_->n_items), true});
  }
  return specs;
}

sched::ConsistencyNeed ModelJob::NeededConsistency() const {
  if (!dp()) return sched::Job::NeededConsistency();
  return {{ps::Consistency::Mode::kBsp},
          "a private run reads the noisy co-occurrence matrix after the servers' one clock"};
}

Status ModelJob::SetupServer(ps::KVServer& server) {
  auto t = Tables();
  if (MatrixIsFloat(options_, *state_)) {
    ECPS_RETURN_IF_ERROR(server.AddTable<float>(t[0], std::make_unique<ps::AssignRule<float>>()));
  } else {
    ECPS_RETURN_IF_ERROR(server.AddTable<double>(t[0], std::make_unique<ps::AssignRule<double>>()));
  }
  // A resumed run pushes again the blocks that its checkpoint's slices may hold in part.
  auto neighbor_rule = std::make_unique<TopKMergeRule>(options_.checkpoint.resume);
  auto content_rule = std::make_unique<TopKMergeRule>(options_.checkpoint.resume);
  neighbor_rule_ = neighbor_rule.get();
  content_rule_ = content_rule.get();
  ECPS_RETURN_IF_ERROR(server.AddTable<double>(t[1], std::move(neighbor_rule)));
  ECPS_RETURN_IF_ERROR(server.AddTable<double>(t[2], std::make_unique<ps::SumRule<double>>()));
  if (dp()) {
    // N(0, sigma^2) once on every entry of this server's share of the triangle: from entropy,
    // or replayed from --dp-seed (mixed with the server's index). The same finalizer as k-means'
    // noisy histogram.
    std::optional<privacy::GaussianNoise> noise;
    if (!options_.dp.test_seed) {
      ECPS_ASSIGN_OR_RETURN(auto n, privacy::GaussianNoise::FromEntropy());
      noise.emplace(std::move(n));
    }
    ECPS_RETURN_IF_ERROR(server.AddTable<double>(
        t[4], std::make_unique<ps::SumRule<double>>(),
        std::make_unique<kmeans::DpCountFinalizer>(settings_.dp.sigma, std::move(noise),
                                                   options_.dp.test_seed)));
  }
  return server.AddTable<double>(t[3], std::move(content_rule));
}

Result<sched::ShardPlan> ModelJob::MakePlan(const ps::RoleTable& roles) {
  if (dp()) {  // no blocks: each worker takes its rows of the noisy triangle (DpRowShare)
    sched::ShardPlan p;
    p.num_workers = roles.num_workers();
    p.file_ranges.resize(static_cast<std::size_t>(p.num_workers));
    p.block_tasks.resize(static_cast<std::size_t>(p.num_workers));
    return p;
  }
  const std::uint64_t block_size =
      DefaultBlockSize(n_entities(), roles.num_workers(), options_.block_size);
  if (state_->checkpoints) {  // it follows the plan; a resumed run's holds the tasks left
    return state_->checkpoints->PlanTasks(roles.num_workers(), n_entities(), block_size);
  }
  sched::ShardPlan p;
  p.num_workers = roles.num_workers();
  p.file_ranges.resize(static_cast<std::size_t>(p.num_workers));
  sched::PlanBlocks(n_entities(), p.num_workers, block_size, &p);
  return p;
}

// This worker's training entries, entity-major, into cf.matrix at the scheduler's offsets.
template <class T>
Status ModelJob::PushMatrix(ps::KVClient& kv, ps::Deadline deadline) {
  const OwnUsers& own = state_->own;
  const auto& entities = state_->entities;
  const std::uint32_t width = MatrixWidth(settings_);
  const bool values = width == 2;
  // Entity-major copy of the entries (contexts ascending within an entity).
  std::vector<std::uint64_t> eptr(entities.size() + 1, 0);
  std::vector<std::uint32_t> ectx;
  std::vector<float> evals;
  if (options_.item_based()) {
    std::vector<std::uint32_t> pos(state_->n_items, 0);
    for (std::size_t k = 0; k < entities.size(); ++k)
      pos[entities[k]] = static_cast<std::uint32_t>(k);
    for (auto j : own.train_item) ++eptr[pos[j] + 1];
    std::partial_sum(eptr.begin(), eptr.end(), eptr.begin());
    ectx.resize(own.train_item.size());
    if (values) evals.resize(own.train_item.size());
    std::vector<std::uint64_t> fill(eptr.begin(), eptr.end() - 1);
    for (std::size_t p = 0; p < own.size(); ++p) {
      for (std::uint64_t t = own.train_ptr[p]; t < own.train_ptr[p + 1]; ++t) {
        const std::uint64_t q = fill[pos[own.train_item[t]]]++;
        ectx[q] = own.users[p];
        if (values) evals[q] = own.train_val.empty() ? 1.0f : own.train_val[t];
      }
    }
  }
  // For usercf the entities are our users with entries, in order: the CSR itself.
  std::size_t p_user = 0;
  auto entries = [&](std::size_t k, std::span<const std::uint32_t>* ctx,
                     std::span<const float>* val) {
    if (options_.item_based()) {
      *ctx = {ectx.data() + eptr[k], eptr[k + 1] - eptr[k]};
      *val = values ? std::span<const float>(evals.data() + eptr[k], eptr[k + 1] - eptr[k])
                    : std::span<const float>{};
      return;
    }
    while (own.users[p_user] != entities[k]) ++p_user;
    *ctx = own.Train(p_user);
    *val = own.Values(p_user);
  };
  std::vector<ps::Key> keys;
  std::vector<T> vals;
  const std::size_t staged = std::min(kChunk, own.train_item.size());
  keys.reserve(staged);
  vals.reserve(staged * width);
  auto flush = [&]() -> Status {
    if (keys.empty()) return Status::Ok();
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.Push<T>(kMatrix, keys, vals), deadline), "push cf.matrix");
    keys.clear();
    vals.clear();
    return Status::Ok();
  };
  for (std::size_t k = 0; k < entities.size(); ++k) {
    std::span<const std::uint32_t> ctx;
    std::span<const float> val;
    entries(k, &ctx, &val);
    for (std::size_t t = 0; t < ctx.size(); ++t) {
      keys.push_back(state_->offsets[k] + t);
      vals.push_back(static_cast<T>(ctx[t]));
      if (values) vals.push_back(val.empty() ? T(1) : static_cast<T>(val[t]));
      if (keys.size() == kChunk) ECPS_RETURN_IF_ERROR(flush());
    }
  }
  return flush();
}

// Sums and counts of each context's values (the means adjusted cosine centres by).
Status ModelJob::PushContextStats(ps::KVClient& kv, ps::Deadline deadline) {
  const OwnUsers& own = state_->own;
  std::vector<ps::Key> keys;
  std::vector<double> vals;
  if (options_.item_based()) {  // contexts = our users
    for (std::size_t p = 0; p < own.size(); ++p) {
      auto v = own.Values(p);
      if (v.empty()) continue;
      keys.push_back(own.users[p]);
      vals.push_back(static_cast<double>(v.size()));
      double sum = 0;
      for (float x : v) sum += x;
      vals.push_back(sum);
    }
  } else {  // contexts = items
    std::vector<double> cnt(state_->n_items, 0), sum(state_->n_items, 0);
    for (std::size_t t = 0; t < own.train_item.size(); ++t) {
      cnt[own.train_item[t]] += 1;
      sum[own.train_item[t]] += own.train_val.empty() ? 1.0 : own.train_val[t];
    }
    for (std::uint32_t j = 0; j < state_->n_items; ++j) {
      if (cnt[j] == 0) continue;
      keys.push_back(j);
      vals.push_back(cnt[j]);
      vals.push_back(sum[j]);
    }
  }
  if (keys.empty()) return Status::Ok();
  return kv.Wait(kv.Push<double>(kContextStats, keys, vals), deadline)
      .WithContext("push cf.context_stats");
}

// The mean value of each context, from cf.context_stats.
Result<std::vector<double>> ModelJob::PullContextMeans(ps::KVClient& kv, ps::Deadline deadline) {
  std::vector<double> stats(2 * static_cast<std::size_t>(n_contexts()));
  ECPS_RETURN_IF_ERROR_CTX(
      kv.Wait(kv.PullRange<double>(kContextStats, 0, n_contexts(), stats), deadline),
      "pull cf.context_stats");
  std::vector<double> context_mean(n_contexts());
  for (std::size_t c = 0; c < context_mean.size(); ++c) {
    context_mean[c] = stats[2 * c] > 0 ? stats[2 * c + 1] / stats[2 * c] : 0.0;
  }
  return context_mean;
}

template <class T>
Result<std::shared_ptr<EntityBlock>> ModelJob::LoadBlock(ps::KVClient& kv,
                                                         const sched::ShardPlan& plan,
                                                         std::uint32_t b,
                                                         std::span<const double> context_mean,
                                                         ps::Deadline deadline) {
  auto blk = std::make_shared<EntityBlock>();
  blk->begin = static_cast<std::uint32_t>(plan.block_bounds[b]);
  blk->end = static_cast<std::uint32_t>(plan.block_bounds[b + 1]);
  const auto& ptr = state_->ptr;
  const std::uint64_t lo = ptr[blk->begin], hi = ptr[blk->end];
  blk->ptr.resize(blk->size() + 1);
  for (std::uint32_t e = 0; e <= blk->size(); ++e) blk->ptr[e] = ptr[blk->begin + e] - lo;
  const std::uint32_t width = MatrixWidth(settings_);
  blk->ctx.resize(hi - lo);
  if (width == 2) blk->val.resize(hi - lo);
  std::vector<T> buf(std::min<std::uint64_t>(kChunk, hi - lo) * width);
  for (std::uint64_t pos = lo; pos < hi; pos += kChunk) {
    const std::uint64_t n = std::min<std::uint64_t>(kChunk, hi - pos);
    std::span<T> out(buf.data(), n * width);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PullRange<T>(kMatrix, pos, pos + n, out), deadline),
                             "pull cf.matrix");
    for (std::uint64_t t = 0; t < n; ++t) {
      blk->ctx[pos - lo + t] = static_cast<std::uint32_t>(buf[t * width]);
      if (width == 2) blk->val[pos - lo + t] = static_cast<float>(buf[t * width + 1]);
    }
  }
  // An entity's entries arrive grouped by the worker that pushed them. Sums of ratings
  // depend on their order, so they are sorted by context; counts (binary data) do not.
  if (!settings_.sim.binary) blk->SortEntities();
  blk->Prepare(settings_.sim, context_mean, n_contexts());
  return blk;
}

Status ModelJob::PushContentBlock(ps::KVClient& kv, const EntityBlock& r, const EntityBlock& c,
                                  ps::Deadline deadline) {
  const std::size_t k = settings_.sim.k;
  const bool diagonal = r.begin == c.begin;
  const EntityBlock content_r = ContentBlock(state_->features, r, k);
  const EntityBlock content_c = diagonal ? EntityBlock{} : ContentBlock(state_->features, c, k);
  std::vector<double> out_r(r.size() * 2 * k, 0.0), out_c(diagonal ? 0 : c.size() * 2 * k, 0.0);
  ComputeBlock(content_r, diagonal ? content_r : content_c, ContentOptions(state_->features, k),
               out_r.data(), out_c.data());
  ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PushRange<double>(kContent, r.begin, r.end, out_r), deadline),
                           "push cf.content");
  if (diagonal) return Status::Ok();
  return kv.Wait(kv.PushRange<double>(kContent, c.begin, c.end, out_c), deadline)
      .WithContext("push cf.content");
}

Result<std::uint64_t> ModelJob::ComputeSimilarities(sched::JobContext& ctx,
                                                    std::span<const double> context_mean) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const bool matrix_float = MatrixIsFloat(options_, *state_);
  // Keep the blocks of the current task; tasks come sorted by row block.
  std::map<std::uint32_t, std::shared_ptr<EntityBlock>> cache;
  std::uint64_t pairs = state_->resume_pairs;
  const std::size_t width = 2 * settings_.sim.k;
  std::vector<double> out_r, out_c;
  const bool checkpoints = options_.checkpoint.writes();
  bool went_on = false;  // the scheduler's "go on" after the similarity step came already
  const auto& tasks = ctx.plan.block_tasks[static_cast<std::size_t>(node.index())];
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    bool evicted = false;
    for (auto it = cache.begin(); it != cache.end();) {
      const bool keep = it->first == task.row_block || it->first == task.col_block;
      evicted |= !keep;
      it = keep ? std::next(it) : cache.erase(it);
    }
    if (evicted) ReleaseFreeMemory();
    const ps::Stopwatch load_time;
    for (std::uint32_t b : {task.row_block, task.col_block}) {
      if (cache.count(b)) continue;
      ECPS_ASSIGN_OR_RETURN(
          cache[b], matrix_float ? LoadBlock<float>(kv, ctx.plan, b, context_mean, deadline())
                                 : LoadBlock<double>(kv, ctx.plan, b, context_mean, deadline()));
    }
    const double load_s = load_time.Seconds();
    const ps::Stopwatch compute_time;
    const EntityBlock& r = *cache[task.row_block];
    const EntityBlock& c = *cache[task.col_block];
    const bool diagonal = task.row_block == task.col_block;
    out_r.assign(r.size() * width, 0.0);
    out_c.assign(diagonal ? 0 : c.size() * width, 0.0);
    const std::uint64_t task_pairs = ComputeBlock(r, c, settings_.sim, out_r.data(), out_c.data());
    auto hr = kv.PushRange<double>(kNeighbors, r.begin, r.end, out_r);
    ps::Handle hc = 0;
    if (!diagonal) hc = kv.PushRange<double>(kNeighbors, c.begin, c.end, out_c);
    const std::pair<ps::Handle, const char*> pushes[] = {{hr, "push cf.neighbors"}, {hc, "push cf.neighbors"}};
    ECPS_RETURN_IF_ERROR(kv.WaitAll(pushes, deadline()));
    if (HasContent(options_)) ECPS_RETURN_IF_ERROR(PushContentBlock(kv, r, c, deadline()));
    pairs += task_pairs;
    node.log().debug("block ({}, {}): load {:.3f} s, compute and push {:.3f} s, {} pairs",
                     task.row_block, task.col_block, load_s, compute_time.Seconds(), task_pairs);
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kTopicProgress,
                                          ps::EncodeControl(task_pairs)));
    if (checkpoints) {
      ECPS_ASSIGN_OR_RETURN(
          went_on, ServeCheckpointRequests(node, kv, settings_.sim.k, HasContent(options_), false));
    }
  }
  if (checkpoints && !went_on) {
    ECPS_RETURN_IF_ERROR(
        ServeCheckpointRequests(node, kv, settings_.sim.k, HasContent(options_), true).status());
  }
  return pairs;
}

Result<std::uint64_t> ModelJob::DpSimilarities(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const OwnUsers& own = state_->own;
  const std::uint32_t n = state_->n_items;
  // Each user's bounded contribution (L2 norm 1, dp.h), added up over this worker's users.
  std::vector<std::pair<std::uint64_t, double>> entries;
  for (std::size_t p = 0; p < own.size(); ++p) {
    const auto kept = BoundedItems(own.Train(p), options_.dp.max_items, options_.seed);
    AddDpContribution(kept, n, &entries);
  }
  std::vector<ps::Key> keys;
  std::vector<double> vals;
  CombineDpEntries(&entries, &keys, &vals);
  entries = {};
  // Every worker pushes (maybe nothing) and ends clock 0; the servers then add the noise to
  // every key once, and the pulls below (clock 1, BSP) see the noisy values.
  const ps::Handle push = kv.Push<double>(kDpCooc, keys, vals);
  ECPS_RETURN_IF_ERROR_CTX(kv.Wait(push, deadline()), "push cf.dp_cooc");
  ECPS_RETURN_IF_ERROR_CTX(kv.Clock(), "clock cf.dp_cooc");
  std::vector<ps::Key> diag_keys(n);
  for (std::uint32_t i = 0; i < n; ++i) diag_keys[i] = TriangleKey(i, i, n);
  std::vector<double> diag(n);
  ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.Pull<double>(kDpCooc, diag_keys, diag), deadline()),
                           "pull cf.dp_cooc diagonal");
  const auto [first, end] = DpRowShare(n, node.roles().num_workers(), node.index());
  const std::uint64_t lo = first < n ? TriangleKey(first, first, n) : TriangleKeys(n);
  const std::uint64_t hi = end < n ? TriangleKey(end, end, n) : TriangleKeys(n);
  std::vector<double> rows(hi - lo);
  for (std::uint64_t pos = lo; pos < hi; pos += kChunk) {
    const std::uint64_t m = std::min<std::uint64_t>(kChunk, hi - pos);
    ECPS_RETURN_IF_ERROR_CTX(
        kv.Wait(kv.PullRange<double>(kDpCooc, pos, pos + m,
                                     std::span<double>(rows.data() + (pos - lo), m)),
                deadline()),
        "pull cf.dp_cooc");
  }
  if (options_.dp.observe_rows) options_.dp.observe_rows(first, rows);
  std::vector<double> lists;
  const std::uint64_t pairs =
      DpNeighborRows(rows, first, end, diag, settings_.sim.measure, settings_.sim.shrinkage,
                     settings_.dp.floor(), settings_.sim.k, &lists);
  rows = {};
  ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PushRange<double>(kNeighbors, 0, n, lists), deadline()),
                           "push cf.neighbors");
  // Popularity (the fallback and the baseline) from the noisy diagonal only.
  state_->item_count = DpPopularity(diag);
  if (node.index() == 0) {
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kTopicDpPopularity,
                                          ps::EncodeControl(state_->item_count)));
  }
  return pairs;
}

Result<std::uint64_t> ModelJob::BlockSimilarities(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const bool adjusted = settings_.sim.measure == Measure::kAdjustedCosine;
  const ps::Stopwatch push_time;
  ECPS_RETURN_IF_ERROR(MatrixIsFloat(options_, *state_) ? PushMatrix<float>(kv, deadline())
                                                        : PushMatrix<double>(kv, deadline()));
  node.log().debug("pushed {} matrix entries in {:.3f} s", state_->own.train_item.size(),
                   push_time.Seconds());
  if (adjusted) ECPS_RETURN_IF_ERROR(PushContextStats(kv, deadline()));
  if (options_.checkpoint.resume) {
    ECPS_RETURN_IF_ERROR(PushSavedRows(kv, state_.get(), settings_.sim.k, deadline()));
  }
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  std::vector<double> context_mean;
  if (adjusted) {
    ECPS_ASSIGN_OR_RETURN(context_mean, PullContextMeans(kv, deadline()));
  }
  return ComputeSimilarities(ctx, context_mean);
}

Status ModelJob::RunWorker(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const ps::Stopwatch similarity_time;
  ECPS_ASSIGN_OR_RETURN(const std::uint64_t pairs,
                        dp() ? DpSimilarities(ctx) : BlockSimilarities(ctx));
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  const double similarity_s = similarity_time.Seconds();

  const ps::Stopwatch recommend_time;
  ProgressSender progress(node, kTopicRecommendProgress, 1);
  ECPS_ASSIGN_OR_RETURN(
      const UserResults results,
      RecommendAndEvaluate(kv, {options_, settings_, *state_}, deadline(),
                           [&](std::uint64_t users) { return progress.Update(users); }));
  ECPS_RETURN_IF_ERROR(progress.Finish(state_->own.size()));
  ps::Blob report = EncodeWorkerReport(pairs, similarity_s, state_->own, results,
                                       options_.save_model, recommend_time.Seconds());
  // The report holds what the scheduler writes of our users: their rows are not needed here
  // again, so they do not add to the peak while the outputs are written.
  state_->own = OwnUsers{};
  ReleaseFreeMemory();
  return node.SendControl(ps::RoleTable::kSchedulerRank, kTopicReport, std::move(report));
}

Status ModelJob::RunScheduler(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  if (dp()) {
    const DpCfPlan& plan = settings_.dp;
    node.log().info(
        "{}: DP run: epsilon {} delta {} (one Gaussian mechanism, RDP): noise sigma {:.4g} on "
        "each of the {} entries of the {} items' co-occurrence triangle, at most {} items per "
        "user (--dp-max-items), each user's contribution of L2 norm 1{}",
        options_.kind_name(), plan.epsilon, plan.delta, plan.sigma, TriangleKeys(plan.items),
        plan.items, plan.max_items,
        plan.test_seed ? "; --dp-seed: replayable noise, NOT PRIVATE" : "");
  }
  CfCheckpoints* const checkpoints = state_->checkpoints.get();
  std::uint64_t total = checkpoints ? checkpoints->tasks_done() : 0;  // resumed ones
  for (const auto& t : ctx.plan.block_tasks) total += t.size();
  sched::ProgressOptions po;
  po.quiet = options_.quiet;
  sched::Progress progress(node.log(), fmt::format("{} similarity blocks", options_.kind_name()),
                           total, po);
  std::uint64_t pairs = checkpoints ? checkpoints->pairs() : 0;
  for (std::uint64_t done = checkpoints ? checkpoints->tasks_done() : 0; done < total;) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m,
                          node.RecvControl(kTopicProgress, -1, node.DefaultDeadline()));
    std::uint64_t p = 0;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &p));
    pairs += p;
    ++done;
    progress.Update(done, fmt::format("{} candidate pairs", pairs));
    if (checkpoints) {
      ECPS_RETURN_IF_ERROR(checkpoints->AfterTask(node, node.roles().IndexOf(m.head.sender), p,
                                                  done == total, n_entities()));
    }
  }
  if (!dp()) progress.Finish(fmt::format("{} candidate pairs", pairs));  // DP: no blocks
  if (checkpoints) ECPS_RETURN_IF_ERROR(checkpoints->EndSimilarity(node));
  const std::string label = fmt::format("{} recommending, users", options_.kind_name());
  ECPS_RETURN_IF_ERROR(
      ShowWorkerProgress(node, kTopicRecommendProgress, label, state_->n_users, options_));
  if (dp()) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicDpPopularity,
                                                          node.roles().WorkerRank(0),
                                                          node.DefaultDeadline()));
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &state_->item_count));
  }
  for (int w = 0; w < node.roles().num_workers(); ++w) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicReport, node.roles().WorkerRank(w),
                                                          node.DefaultDeadline()));
    ECPS_ASSIGN_OR_RETURN(WorkerReport report,
                          DecodeWorkerReport(std::move(m), options_.metrics_k.size()));
    reports_.push_back(std::move(report));
  }
  return Status::Ok();
}

Status ModelJob::FinishServer(sched::JobContext& ctx) {
  ECPS_RETURN_IF_ERROR_CTX(neighbor_rule_->status(), "table cf.neighbors");
  ECPS_RETURN_IF_ERROR_CTX(content_rule_->status(), "table cf.content");
  ECPS_RETURN_IF_ERROR(SendServerRows(ctx, kNeighbors, kTopicServerRows));
  if (!HasContent(options_)) return Status::Ok();
  return SendServerRows(ctx, kContent, kTopicServerContent);
}

Status ModelJob::FinishScheduler(sched::JobContext& ctx) {
  ECPS_ASSIGN_OR_RETURN(auto lists,
                        ReceiveLists(ctx.node, kTopicServerRows, n_entities(), settings_.sim.k));
  NeighborLists content;
  if (HasContent(options_)) {
    ECPS_ASSIGN_OR_RETURN(
        content, ReceiveLists(ctx.node, kTopicServerContent, state_->n_items, settings_.sim.k));
  }
  if (state_->checkpoints) ECPS_RETURN_IF_ERROR(state_->checkpoints->Finish());
  return WriteOutputs(ctx, {options_, settings_, *state_, reports_, lists, content});
}

}  // namespace ecps::models::cf
