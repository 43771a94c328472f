#include "models/cf/cf_job.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <any>
#include <atomic>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>
#include <tuple>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "models/cf/attributes.h"
#include "models/cf/ids.h"
#include "models/cf/metrics.h"
#include "models/cf/model.h"
#include "models/cf/pack.h"
#include "models/cf/scoring.h"
#include "models/cf/similarity.h"
#include "models/cf/split.h"
#include "models/common/output.h"
#include "ps/collective.h"
#include "scheduler/progress.h"
#include "worker/interactions.h"

namespace ecps::models::cf {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
SteadyTime Now() { return std::chrono::steady_clock::now(); }
double Since(SteadyTime t) { return std::chrono::duration<double>(Now() - t).count(); }

// Control topics of this model: 1300-1399.
constexpr std::uint32_t kTopicIds = 1300;
constexpr std::uint32_t kTopicAssign = 1301;
constexpr std::uint32_t kTopicShuffle = 1302;
constexpr std::uint32_t kTopicCounts = 1303;
constexpr std::uint32_t kTopicLayout = 1304;
constexpr std::uint32_t kTopicProgress = 1305;
constexpr std::uint32_t kTopicReport = 1306;
constexpr std::uint32_t kTopicServerRows = 1307;
constexpr std::uint32_t kTopicSizes = 1308;
constexpr std::uint32_t kTopicServerContent = 1309;

constexpr ps::TableId kMatrix = 1;
constexpr ps::TableId kNeighbors = 2;
constexpr ps::TableId kContextStats = 3;
constexpr ps::TableId kContent = 4;

// Keys per push/pull of the matrix: large enough that per-message costs vanish, small
// enough that every worker's staging buffers stay a few MB.
constexpr std::size_t kChunk = std::size_t{1} << 18;

// Gives memory freed by this thread's large buffers back to the system: glibc keeps freed
// blocks in per-thread arenas, so with several worker threads the peak would otherwise be
// the sum of every thread's peak rather than the live data. Not under AddressSanitizer,
// whose allocator is not glibc's (malloc_trim there crashes about one run in 20).
#if defined(__SANITIZE_ADDRESS__)
#define ECPS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ECPS_ASAN 1
#endif
#endif
#ifdef ECPS_ASAN
void ReleaseFreeMemory() {}
#else
void ReleaseFreeMemory() { malloc_trim(0); }
#endif

std::uint64_t DefaultBlockSize(std::uint64_t n, int workers, std::uint64_t requested);

// ---- Options as typed values ----------------------------------------------------------

struct Settings {
  bool item_based = true;
  worker::HeaderMode header = worker::HeaderMode::kAuto;
  worker::InteractionFormat format;
  bool explicit_ratings = false;
  SplitOptions split;
  SimilarityOptions sim;
  std::string scoring_name;  // resolved after the format is known
  Scoring scoring = Scoring::kSum;
  bool evaluate = false;
  int max_k = 0;
};

Result<Settings> Resolve(const CfOptions& o) {
  ECPS_RETURN_IF_ERROR(o.Validate());
  Settings s;
  s.item_based = o.kind == "itemcf";
  ECPS_ASSIGN_OR_RETURN(s.header, worker::ParseHeaderMode(o.header));
  ECPS_ASSIGN_OR_RETURN(s.format, worker::DetectInteractionFormat(o.train, s.header));
  if (o.feedback == "explicit" && !s.format.has_rating()) {
    return InvalidArgument(fmt::format("--feedback explicit: {} has no rating column ({})", o.train,
                                       s.format.Describe()));
  }
  s.explicit_ratings = o.feedback == "explicit" || (o.feedback == "auto" && s.format.has_rating());
  ECPS_ASSIGN_OR_RETURN(s.split.kind, ParseSplitKind(o.split));
  ECPS_ASSIGN_OR_RETURN(s.split.target, ParseEvalTarget(o.evaluate_on));
  s.split.holdout_fraction = o.holdout_fraction;
  s.split.min_user_interactions = o.min_user_interactions;
  s.split.seed = o.seed;
  ECPS_ASSIGN_OR_RETURN(s.sim.measure, ParseMeasure(o.similarity));
  if (NeedsRatings(s.sim.measure) && !s.explicit_ratings) {
    return InvalidArgument(fmt::format(
        "--similarity {} centres ratings, but the feedback is implicit ({}: {}); use cosine or jaccard, "
        "or give a file with a rating column",
        o.similarity, o.train, s.format.Describe()));
  }
  s.sim.k = static_cast<std::size_t>(o.neighbors);
  s.sim.shrinkage = o.shrinkage;
  s.sim.min_support = static_cast<std::uint32_t>(o.min_support);
  s.sim.binary = !s.explicit_ratings || s.sim.measure == Measure::kJaccard;
  ECPS_ASSIGN_OR_RETURN(s.scoring, ParseScoring(o.scoring, s.explicit_ratings));
  s.scoring_name = ScoringName(s.scoring);
  s.evaluate = s.split.kind != SplitKind::kNone;
  s.max_k = *std::max_element(o.metrics_k.begin(), o.metrics_k.end());
  return s;
}

// ---- Messages ---------------------------------------------------------------------------

struct IdReport {
  std::vector<std::string> users, items;  // distinct, canonical order
  std::uint64_t rows = 0, skipped = 0;
  std::vector<std::string> examples;
  template <class A>
  void serialize(A& ar) { ar(users, items, rows, skipped, examples); }
};

struct IdAssignment {
  std::vector<std::uint32_t> users, items;
  std::uint32_t n_users = 0, n_items = 0;
  template <class A>
  void serialize(A& ar) { ar(users, items, n_users, n_items); }
};

struct CountReport {
  std::vector<std::uint32_t> entities, entity_counts;  // this worker's training entries
  std::vector<std::uint32_t> items, item_counts;       // popularity
  std::uint64_t users = 0, evaluated_users = 0, targets = 0, dropped = 0, duplicates = 0;
  // Attribute rows this worker read (item indices global).
  std::vector<std::string> attr_columns;
  std::vector<std::uint32_t> attr_items;
  std::vector<std::string> attr_values;
  template <class A>
  void serialize(A& ar) {
    ar(entities, entity_counts, items, item_counts, users, evaluated_users, targets, dropped, duplicates,
       attr_columns, attr_items, attr_values);
  }
};

struct Sizes {
  std::uint32_t n_users = 0, n_items = 0;
  std::uint64_t nnz = 0;
  template <class A>
  void serialize(A& ar) { ar(n_users, n_items, nnz); }
};

struct Layout {
  std::vector<std::uint64_t> offsets;  // aligned with the worker's CountReport::entities
  std::vector<std::uint64_t> ptr;      // entity-major matrix offsets (n_entities + 1)
  std::vector<std::uint32_t> item_count;
  std::uint32_t n_users = 0, n_items = 0;
  ItemFeatures features;  // empty without attributes
  template <class A>
  void serialize(A& ar) { ar(offsets, ptr, item_count, n_users, n_items, features); }
};

// ---- Per-rank state shared by the two jobs -----------------------------------------------

// A worker's own users (ascending) and their interactions, as CSR arrays.
struct OwnUsers {
  std::vector<std::uint32_t> users;
  std::vector<std::uint64_t> train_ptr{0};
  std::vector<std::uint32_t> train_item;  // ascending within a user
  std::vector<float> train_val;           // empty for implicit feedback
  std::vector<std::uint32_t> train_age;   // 0 = the user's latest training interaction
  std::vector<std::uint64_t> target_ptr{0};
  std::vector<std::uint32_t> target_item;
  std::vector<std::uint64_t> dropped_ptr{0};
  std::vector<std::uint32_t> dropped_item;

  std::size_t size() const { return users.size(); }
  std::span<const std::uint32_t> Train(std::size_t p) const {
    return {train_item.data() + train_ptr[p], train_ptr[p + 1] - train_ptr[p]};
  }
  std::span<const float> Values(std::size_t p) const {
    if (train_val.empty()) return {};
    return {train_val.data() + train_ptr[p], train_ptr[p + 1] - train_ptr[p]};
  }
  std::span<const std::uint32_t> Ages(std::size_t p) const {
    if (train_age.empty()) return {};
    return {train_age.data() + train_ptr[p], train_ptr[p + 1] - train_ptr[p]};
  }
  std::span<const std::uint32_t> Targets(std::size_t p) const {
    return {target_item.data() + target_ptr[p], target_ptr[p + 1] - target_ptr[p]};
  }
  std::span<const std::uint32_t> Dropped(std::size_t p) const {
    return {dropped_item.data() + dropped_ptr[p], dropped_ptr[p + 1] - dropped_ptr[p]};
  }
};

struct CfState {
  SteadyTime started = Now();
  double ingest_s = 0;
  // Every rank after ingest (workers and the scheduler).
  std::uint32_t n_users = 0, n_items = 0;
  std::uint64_t nnz = 0;
  std::vector<std::uint64_t> ptr;
  std::vector<std::uint32_t> item_count;
  ItemFeatures features;  // item attributes as binary features (itemcf with attributes)
  // Workers.
  OwnUsers own;
  std::vector<std::uint32_t> entities;
  std::vector<std::uint64_t> offsets;
  // Scheduler.
  std::vector<std::string> user_ids, item_ids;
  nlohmann::json data;

  std::uint32_t n_entities(bool item_based) const { return item_based ? n_items : n_users; }
  std::uint32_t n_contexts(bool item_based) const { return item_based ? n_users : n_items; }
};

// ---- Job 1: ingest ------------------------------------------------------------------------

// Interaction rows as parallel arrays (values and timestamps only when the file has them).
// Their order is the file's: each worker reads its byte range in order, and rows gathered
// from several workers are concatenated in worker order (= byte-range order).
struct Rows {
  std::vector<std::uint32_t> user, item;
  std::vector<float> value;
  std::vector<double> ts;
  std::size_t size() const { return user.size(); }
  void Reserve(std::size_t n, bool has_v, bool has_t) {
    user.reserve(n);
    item.reserve(n);
    if (has_v) value.reserve(n);
    if (has_t) ts.reserve(n);
  }
  void Append(std::span<const std::uint32_t> u, std::span<const std::uint32_t> i, std::span<const float> v,
              std::span<const double> t) {
    user.insert(user.end(), u.begin(), u.end());
    item.insert(item.end(), i.begin(), i.end());
    value.insert(value.end(), v.begin(), v.end());
    ts.insert(ts.end(), t.begin(), t.end());
  }
};

class IngestJob final : public sched::Job {
 public:
  IngestJob(const CfOptions& o, const Settings& s, std::shared_ptr<CfState> st) : o_(o), s_(s), st_(std::move(st)) {}
  std::string name() const override { return o_.kind + ".ingest"; }
  std::vector<ps::TableSpec> Tables() const override { return {}; }
  Status SetupServer(ps::KVServer&) override { return Status::Ok(); }
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override {
    std::vector<std::string> files{o_.train};
    if (!o_.item_attributes.empty()) files.push_back(o_.item_attributes);
    return sched::PlanFiles(files, roles.num_workers());
  }
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  // Servers learn the table sizes of the next job.
  Status FinishScheduler(sched::JobContext& ctx) override {
    Sizes z{st_->n_users, st_->n_items, st_->nnz};
    return ps::Broadcast(ctx.node, kTopicSizes, ServerRanks(ctx.node.roles()), &z, ctx.node.DefaultDeadline());
  }
  Status FinishServer(sched::JobContext& ctx) override {
    Sizes z;
    ECPS_RETURN_IF_ERROR(ps::Broadcast(ctx.node, kTopicSizes, ServerRanks(ctx.node.roles()), &z,
                                       ctx.node.DefaultDeadline()));
    st_->n_users = z.n_users;
    st_->n_items = z.n_items;
    st_->nnz = z.nnz;
    return Status::Ok();
  }

 private:
  static std::vector<ps::Rank> ServerRanks(const ps::RoleTable& roles) {
    std::vector<ps::Rank> r;
    for (int s = 0; s < roles.num_servers(); ++s) r.push_back(roles.ServerRank(s));
    return r;
  }
  Status ShuffleByUser(sched::JobContext& ctx, const IdDictionary& users, const std::vector<std::uint32_t>& gu,
                       const std::vector<std::uint32_t>& gi, Rows* rows);
  void GroupAndSplit(const Rows& rows, std::uint32_t n_users, CountReport* report);
  // Logs the NeighborListBytes estimate; warns above half this machine's memory, refuses
  // above all of it when every rank runs in this process.
  Status CheckNeighborMemory(ps::Node& node, std::uint32_t n_entities, int workers) const;

  const CfOptions& o_;
  const Settings& s_;
  std::shared_ptr<CfState> st_;
};

Status IngestJob::RunWorker(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const auto& ranges = ctx.plan.file_ranges[static_cast<std::size_t>(node.index())];
  IdDictionary users, items;
  Rows rows;
  IdReport report;
  for (const auto& range : std::span(ranges).first(1)) {
    ECPS_ASSIGN_OR_RETURN(auto reader, worker::InteractionReader::Open(range, s_.format, o_.skip_bad_rows));
    // A line has at least 4 bytes ("u i\n"): reserving for that never reallocates, and the
    // pages never written cost no memory.
    const std::size_t guess = static_cast<std::size_t>((range.end - range.begin) / 4 + 16);
    rows.Reserve(rows.size() + guess, s_.explicit_ratings, s_.format.has_timestamp());
    worker::InteractionRow row;
    while (true) {
      ECPS_ASSIGN_OR_RETURN(bool more, reader->Next(&row));
      if (!more) break;
      rows.user.push_back(users.Intern(row.user));
      rows.item.push_back(items.Intern(row.item));
      if (s_.explicit_ratings) rows.value.push_back(static_cast<float>(row.rating));
      if (s_.format.has_timestamp()) rows.ts.push_back(row.timestamp);
    }
    report.skipped += reader->skipped();
    for (const auto& e : reader->skipped_examples()) {
      if (report.examples.size() < worker::InteractionReader::kMaxExamples) report.examples.push_back(e);
    }
  }
  report.rows = rows.size();
  // Item attributes: their items join the id mapping (an item may have attributes only).
  AttributeRows attrs;
  std::vector<std::uint32_t> attr_local;
  if (ranges.size() > 1) {
    ECPS_RETURN_IF_ERROR(ReadAttributes(ranges[1], o_.attribute_id_column, &attrs));
    for (const auto& id : attrs.item_ids) attr_local.push_back(items.Intern(id));
    attrs.item_ids.clear();
  }

  // Distinct ids to the scheduler; global indices back.
  const auto uorder = users.CanonicalOrder();
  const auto iorder = items.CanonicalOrder();
  for (auto l : uorder) report.users.push_back(users.ids()[l]);
  for (auto l : iorder) report.items.push_back(items.ids()[l]);
  ECPS_RETURN_IF_ERROR(ps::Gather(node, kTopicIds, ps::WorkerRanks(node.roles()), report, deadline()).status());
  report = IdReport{};
  ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicAssign, ps::RoleTable::kSchedulerRank, deadline()));
  IdAssignment a;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &a));
  if (a.users.size() != uorder.size() || a.items.size() != iorder.size()) {
    return Internal("id assignment does not match the ids sent");
  }
  std::vector<std::uint32_t> gu(uorder.size()), gi(iorder.size());
  for (std::size_t k = 0; k < uorder.size(); ++k) gu[uorder[k]] = a.users[k];
  for (std::size_t k = 0; k < iorder.size(); ++k) gi[iorder[k]] = a.items[k];

  ECPS_RETURN_IF_ERROR(ShuffleByUser(ctx, users, gu, gi, &rows));
  CountReport counts;
  counts.attr_columns = std::move(attrs.columns);
  for (auto l : attr_local) counts.attr_items.push_back(gi[l]);
  counts.attr_values = std::move(attrs.values);
  GroupAndSplit(rows, a.n_users, &counts);
  rows = Rows{};
  ReleaseFreeMemory();

  // Entity counts -> scheduler; the matrix layout back.
  OwnUsers& own = st_->own;
  std::vector<std::uint32_t> icount(a.n_items, 0);
  for (auto j : own.train_item) ++icount[j];
  for (std::uint32_t j = 0; j < a.n_items; ++j) {
    if (icount[j] == 0) continue;
    counts.items.push_back(j);
    counts.item_counts.push_back(icount[j]);
  }
  if (s_.item_based) {
    counts.entities = counts.items;
    counts.entity_counts = counts.item_counts;
  } else {
    for (std::size_t p = 0; p < own.size(); ++p) {
      if (own.train_ptr[p + 1] == own.train_ptr[p]) continue;
      counts.entities.push_back(own.users[p]);
      counts.entity_counts.push_back(static_cast<std::uint32_t>(own.train_ptr[p + 1] - own.train_ptr[p]));
    }
  }
  ECPS_RETURN_IF_ERROR(ps::Gather(node, kTopicCounts, ps::WorkerRanks(node.roles()), counts, deadline()).status());
  ECPS_ASSIGN_OR_RETURN(ps::Message lm, node.RecvControl(kTopicLayout, ps::RoleTable::kSchedulerRank, deadline()));
  Layout layout;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(lm.control, &layout));
  st_->n_users = layout.n_users;
  st_->n_items = layout.n_items;
  st_->ptr = std::move(layout.ptr);
  st_->nnz = st_->ptr.back();
  st_->item_count = std::move(layout.item_count);
  st_->features = std::move(layout.features);
  st_->entities = std::move(counts.entities);
  st_->offsets = std::move(layout.offsets);
  return Status::Ok();
}

Status IngestJob::ShuffleByUser(sched::JobContext& ctx, const IdDictionary& users,
                                const std::vector<std::uint32_t>& gu, const std::vector<std::uint32_t>& gi,
                                Rows* rows) {
  ps::Node& node = ctx.node;
  const int W = node.roles().num_workers();
  const int me = node.index();
  std::vector<int> owner(users.size());
  for (std::size_t l = 0; l < users.size(); ++l) owner[l] = ctx.plan.UserOwner(users.ids()[l]);
  const bool has_v = !rows->value.empty(), has_t = !rows->ts.empty();
  std::vector<std::size_t> count(static_cast<std::size_t>(W), 0);
  for (auto lu : rows->user) ++count[static_cast<std::size_t>(owner[lu])];

  // Rows for other workers go straight into their payloads; ours are compacted in place.
  struct Out {
    ps::Blob blob;
    std::vector<std::byte*> at;
    std::size_t n = 0;
  };
  std::vector<Out> out(static_cast<std::size_t>(W));
  for (int d = 0; d < W; ++d) {
    if (d == me) continue;
    const std::size_t c = count[static_cast<std::size_t>(d)];
    std::vector<std::size_t> bytes{c * 4, c * 4, has_v ? c * 4 : 0, has_t ? c * 8 : 0};
    out[static_cast<std::size_t>(d)].blob = AllocateSections(bytes, &out[static_cast<std::size_t>(d)].at);
  }
  std::size_t kept = 0;
  for (std::size_t r = 0; r < rows->size(); ++r) {
    const int d = owner[rows->user[r]];
    const std::uint32_t u = gu[rows->user[r]], i = gi[rows->item[r]];
    if (d == me) {
      rows->user[kept] = u;
      rows->item[kept] = i;
      if (has_v) rows->value[kept] = rows->value[r];
      if (has_t) rows->ts[kept] = rows->ts[r];
      ++kept;
      continue;
    }
    Out& o = out[static_cast<std::size_t>(d)];
    std::memcpy(o.at[0] + 4 * o.n, &u, 4);
    std::memcpy(o.at[1] + 4 * o.n, &i, 4);
    if (has_v) std::memcpy(o.at[2] + 4 * o.n, &rows->value[r], 4);
    if (has_t) std::memcpy(o.at[3] + 8 * o.n, &rows->ts[r], 8);
    ++o.n;
  }
  rows->user.resize(kept);
  rows->item.resize(kept);
  if (has_v) rows->value.resize(kept);
  if (has_t) rows->ts.resize(kept);
  if (W == 1) return Status::Ok();
  for (int d = 0; d < W; ++d) {
    if (d == me) continue;
    ECPS_RETURN_IF_ERROR(node.SendControl(node.roles().WorkerRank(d), kTopicShuffle,
                                          std::move(out[static_cast<std::size_t>(d)].blob)));
  }
  out.clear();
  std::vector<ps::Message> incoming(static_cast<std::size_t>(W));
  std::size_t total = kept;
  for (int d = 0; d < W; ++d) {
    if (d == me) continue;
    ECPS_ASSIGN_OR_RETURN(incoming[static_cast<std::size_t>(d)],
                          node.RecvControl(kTopicShuffle, node.roles().WorkerRank(d), node.DefaultDeadline()));
    total += (incoming[static_cast<std::size_t>(d)].control.size()) / 8;  // an upper bound, for reserve
  }
  // Concatenate in worker order, which is file order.
  Rows merged;
  merged.Reserve(total, has_v, has_t);
  for (int d = 0; d < W; ++d) {
    if (d == me) {
      merged.Append(rows->user, rows->item, rows->value, rows->ts);
      *rows = Rows{};
      continue;
    }
    auto& m = incoming[static_cast<std::size_t>(d)];
    ECPS_ASSIGN_OR_RETURN(PodReader rd, PodReader::Open(m.control));
    ECPS_ASSIGN_OR_RETURN(auto u, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(auto i, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(auto v, rd.Next<float>());
    ECPS_ASSIGN_OR_RETURN(auto t, rd.Next<double>());
    if (i.size() != u.size() || (has_v && v.size() != u.size()) || (has_t && t.size() != u.size())) {
      return Internal("shuffled rows with sections of different lengths");
    }
    merged.Append(u, i, v, t);
    m = ps::Message{};  // free the payload now
  }
  *rows = std::move(merged);
  return Status::Ok();
}

void IngestJob::GroupAndSplit(const Rows& rows, std::uint32_t n_users, CountReport* report) {
  const std::size_t n = rows.size();
  const bool has_v = !rows.value.empty(), has_t = !rows.ts.empty();
  // Counting sort by user (stable), then each user's rows by (timestamp, file order).
  std::vector<std::uint32_t> start(static_cast<std::size_t>(n_users) + 1, 0);
  for (auto u : rows.user) ++start[u + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<std::uint32_t> perm(n);
  {
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    for (std::size_t r = 0; r < n; ++r) perm[fill[rows.user[r]]++] = static_cast<std::uint32_t>(r);
  }
  OwnUsers& own = st_->own;
  own = OwnUsers{};
  const bool keep_ages = o_.recency_decay < 1.0;
  own.train_item.reserve(n);
  if (keep_ages) own.train_age.reserve(n);
  if (has_v) own.train_val.reserve(n);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> by_item;  // (item, time position)
  std::vector<std::uint32_t> seq, seq_rows;
  std::vector<Part> parts;
  std::vector<std::tuple<std::uint32_t, float, std::uint32_t>> train;  // item, value, age
  std::vector<std::uint32_t> targets, dropped;
  for (std::uint32_t u = 0; u < n_users; ++u) {
    const std::uint32_t b = start[u], e = start[u + 1];
    if (b == e) continue;
    // perm is in file order within a user (stable counting sort); timestamps come first.
    if (has_t) {
      std::stable_sort(perm.begin() + b, perm.begin() + e,
                       [&](std::uint32_t x, std::uint32_t y) { return rows.ts[x] < rows.ts[y]; });
    }
    // Deduplicate (user, item): the latest interaction counts.
    by_item.clear();
    for (std::uint32_t p = b; p < e; ++p) by_item.emplace_back(rows.item[perm[p]], p);
    std::sort(by_item.begin(), by_item.end());
    std::size_t kept = 0;
    for (std::size_t t = 0; t < by_item.size(); ++t) {
      if (t + 1 < by_item.size() && by_item[t + 1].first == by_item[t].first) continue;
      by_item[kept++] = by_item[t];
    }
    report->duplicates += by_item.size() - kept;
    by_item.resize(kept);
    std::sort(by_item.begin(), by_item.end(), [](const auto& x, const auto& y) { return x.second < y.second; });
    seq.clear();
    seq_rows.clear();
    for (const auto& [item, p] : by_item) {
      seq.push_back(item);
      seq_rows.push_back(perm[p]);
    }
    parts.assign(seq.size(), Part::kTrain);
    SplitUser(u, seq, s_.split, parts);
    train.clear();
    targets.clear();
    dropped.clear();
    const auto n_train = static_cast<std::uint32_t>(std::count(parts.begin(), parts.end(), Part::kTrain));
    for (std::size_t t = 0; t < seq.size(); ++t) {
      switch (parts[t]) {
        case Part::kTrain:
          train.emplace_back(seq[t], has_v ? rows.value[seq_rows[t]] : 1.0f,
                             n_train - 1 - static_cast<std::uint32_t>(train.size()));
          break;
        case Part::kTarget: targets.push_back(seq[t]); break;
        case Part::kDropped: dropped.push_back(seq[t]); break;
      }
    }
    std::sort(train.begin(), train.end());
    std::sort(targets.begin(), targets.end());
    std::sort(dropped.begin(), dropped.end());
    own.users.push_back(u);
    for (const auto& [item, v, age] : train) {
      own.train_item.push_back(item);
      if (has_v) own.train_val.push_back(v);
      if (keep_ages) own.train_age.push_back(age);
    }
    own.train_ptr.push_back(own.train_item.size());
    own.target_item.insert(own.target_item.end(), targets.begin(), targets.end());
    own.target_ptr.push_back(own.target_item.size());
    own.dropped_item.insert(own.dropped_item.end(), dropped.begin(), dropped.end());
    own.dropped_ptr.push_back(own.dropped_item.size());
    report->users += 1;
    report->evaluated_users += targets.empty() ? 0 : 1;
    report->targets += targets.size();
    report->dropped += dropped.size();
  }
  own.train_item.shrink_to_fit();
  own.train_age.shrink_to_fit();
  own.train_val.shrink_to_fit();
}

Status IngestJob::RunScheduler(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  const auto workers = ps::WorkerRanks(node.roles());
  auto deadline = [&] { return node.DefaultDeadline(); };
  ECPS_ASSIGN_OR_RETURN(auto reports, ps::Gather(node, kTopicIds, workers, IdReport{}, deadline()));
  std::uint64_t rows = 0, skipped = 0;
  std::vector<std::string> examples;
  std::vector<std::vector<std::string>> ulists, ilists;
  for (auto& r : reports) {
    rows += r.rows;
    skipped += r.skipped;
    for (auto& e : r.examples) {
      if (examples.size() < worker::InteractionReader::kMaxExamples) examples.push_back(e);
    }
    ulists.push_back(std::move(r.users));
    ilists.push_back(std::move(r.items));
  }
  reports.clear();
  if (skipped > 0) {
    node.log().warn("skipped {} bad row(s) of {} (--skip-bad-rows); first: {}", skipped, o_.train,
                    examples.empty() ? "" : examples.front());
  }
  if (rows == 0) {
    return DataError(fmt::format("{}: no interactions to train on ({} bad row(s) skipped)", o_.train, skipped));
  }
  std::vector<std::vector<std::uint32_t>> uidx, iidx;
  st_->user_ids = MergeIdLists(ulists, &uidx);
  st_->item_ids = MergeIdLists(ilists, &iidx);
  ulists.clear();
  ilists.clear();
  if (st_->user_ids.size() >= NeighborLists::kNone || st_->item_ids.size() >= NeighborLists::kNone) {
    return DataError("more than 2^32 - 1 distinct users or items");
  }
  const auto n_users = static_cast<std::uint32_t>(st_->user_ids.size());
  const auto n_items = static_cast<std::uint32_t>(st_->item_ids.size());
  for (std::size_t w = 0; w < workers.size(); ++w) {
    IdAssignment a{std::move(uidx[w]), std::move(iidx[w]), n_users, n_items};
    ECPS_RETURN_IF_ERROR(node.SendControl(workers[w], kTopicAssign, ps::EncodeControl(a)));
  }

  ECPS_ASSIGN_OR_RETURN(auto counts, ps::Gather(node, kTopicCounts, workers, CountReport{}, deadline()));
  const std::uint32_t n_entities = s_.item_based ? n_items : n_users;
  std::vector<std::uint64_t> ptr(static_cast<std::size_t>(n_entities) + 1, 0);
  std::vector<std::uint32_t> item_count(n_items, 0);
  CountReport total;
  for (const auto& c : counts) {
    for (std::size_t k = 0; k < c.entities.size(); ++k) ptr[c.entities[k] + 1] += c.entity_counts[k];
    for (std::size_t k = 0; k < c.items.size(); ++k) item_count[c.items[k]] += c.item_counts[k];
    total.users += c.users;
    total.evaluated_users += c.evaluated_users;
    total.targets += c.targets;
    total.dropped += c.dropped;
    total.duplicates += c.duplicates;
  }
  std::partial_sum(ptr.begin(), ptr.end(), ptr.begin());
  ItemFeatures features;
  if (!o_.item_attributes.empty()) {
    std::vector<std::uint32_t> items;
    std::vector<std::string> values;
    for (auto& c : counts) {
      items.insert(items.end(), c.attr_items.begin(), c.attr_items.end());
      values.insert(values.end(), std::make_move_iterator(c.attr_values.begin()),
                    std::make_move_iterator(c.attr_values.end()));
    }
    ECPS_ASSIGN_OR_RETURN(features, BuildItemFeatures(counts.front().attr_columns, items, values, n_items,
                                                      o_.numeric_bands, st_->item_ids, o_.item_attributes));
    node.log().info("{}: {} items with attributes, {} features", o_.item_attributes, features.items_with_attributes,
                    features.names.size());
  }
  if (ptr.back() == 0) return DataError(fmt::format("{}: no training interactions left after the split", o_.train));
  std::vector<std::uint64_t> next(ptr.begin(), ptr.end() - 1);
  for (std::size_t w = 0; w < workers.size(); ++w) {
    Layout l;
    l.n_users = n_users;
    l.n_items = n_items;
    l.ptr = ptr;
    l.item_count = item_count;
    l.features = features;
    for (std::size_t k = 0; k < counts[w].entities.size(); ++k) {
      l.offsets.push_back(next[counts[w].entities[k]]);
      next[counts[w].entities[k]] += counts[w].entity_counts[k];
    }
    ECPS_RETURN_IF_ERROR(node.SendControl(workers[w], kTopicLayout, ps::EncodeControl(l)));
  }
  st_->n_users = n_users;
  st_->n_items = n_items;
  st_->nnz = ptr.back();
  st_->ptr = std::move(ptr);
  st_->item_count = std::move(item_count);
  st_->features = std::move(features);
  st_->data = {{"file", o_.train},
               {"format", s_.format.Describe()},
               {"feedback", s_.explicit_ratings ? "explicit" : "implicit"},
               {"rows", rows},
               {"bad_rows_skipped", skipped},
               {"bad_row_examples", examples},
               {"duplicate_pairs", total.duplicates},
               {"users", n_users},
               {"items", n_items},
               {"train_interactions", st_->nnz},
               {"evaluated_users", total.evaluated_users},
               {"held_out_targets", total.targets},
               {"dropped_test_items", total.dropped}};
  node.log().info("{}: {} rows ({}), {} users, {} items, {} training interactions, {} users to evaluate",
                  o_.train, rows, s_.format.Describe(), n_users, n_items, st_->nnz, total.evaluated_users);
  return CheckNeighborMemory(node, n_entities, static_cast<int>(workers.size()));
}

Status IngestJob::CheckNeighborMemory(ps::Node& node, std::uint32_t n_entities, int workers) const {
  const std::uint64_t k = s_.sim.k;
  const std::uint64_t bytes =
      NeighborListBytes(n_entities, s_.item_based && !o_.item_attributes.empty() ? st_->n_items : 0,
                        k, workers, DefaultBlockSize(n_entities, workers, o_.block_size));
  const std::uint64_t memory = PhysicalMemoryBytes();
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  const std::string figure =
      fmt::format("the neighbour lists (--neighbors {} for {} {}) need about {:.1f} GiB", k,
                  n_entities, s_.item_based ? "items" : "users", bytes / kGiB);
  if (memory > 0 && bytes > memory && o_.single_process) {
    return InvalidArgument(
        fmt::format("{}, more than this machine's {:.1f} GiB: use a smaller --neighbors", figure,
                    memory / kGiB));
  }
  if (memory > 0 && bytes > memory / 2) {
    node.log().warn("{} of this machine's {:.1f} GiB during the similarity phase{}", figure,
                    memory / kGiB, o_.single_process ? "" : " (all ranks together)");
  } else {
    node.log().info("{} during the similarity phase", figure);
  }
  return Status::Ok();
}

// ---- Job 2: similarity blocks, recommendations, evaluation --------------------------------

// Entities per block when the user gave none: the fewest blocks that still give every
// worker about two tasks (B(B+1)/2 >= 2W), and no wider than 65536 entities (a block-wide
// accumulator stays in the cache). Every task walks all the contexts of its row block, so
// more blocks than that only add work; each task already uses every core of its process.
std::uint64_t DefaultBlockSize(std::uint64_t n, int workers, std::uint64_t requested) {
  if (requested > 0) return requested;
  std::uint64_t blocks = 1;
  while (blocks * (blocks + 1) / 2 < 2 * static_cast<std::uint64_t>(workers)) ++blocks;
  std::uint64_t size = (n + blocks - 1) / blocks;
  return std::max<std::uint64_t>(1, std::min<std::uint64_t>(size, 65536));
}

// One worker's results for the scheduler, read from its report payload.
struct WorkerReport {
  ps::Message msg;  // owns the payload the spans point into
  std::uint64_t pairs = 0;
  double similarity_s = 0, recommend_s = 0;
  std::span<const std::uint32_t> users, rec_count, rec_items;
  std::span<const float> rec_scores;
  EvalSums model, popularity;
  Coverage cov_model, cov_pop;
  std::span<const std::uint64_t> train_ptr;
  std::span<const std::uint32_t> train_item;
  std::span<const float> train_val;
  std::span<const std::uint32_t> train_age;
};

class ModelJob final : public sched::Job {
 public:
  ModelJob(const CfOptions& o, const Settings& s, std::shared_ptr<CfState> st) : o_(o), s_(s), st_(std::move(st)) {}
  std::string name() const override { return o_.kind; }
  std::vector<ps::TableSpec> Tables() const override;
  Status SetupServer(ps::KVServer& server) override;
  Result<sched::ShardPlan> MakePlan(const ps::RoleTable& roles) override;
  Status RunWorker(sched::JobContext& ctx) override;
  Status RunScheduler(sched::JobContext& ctx) override;
  Status FinishServer(sched::JobContext& ctx) override;
  Status FinishScheduler(sched::JobContext& ctx) override;

 private:
  std::uint32_t matrix_width() const { return s_.sim.binary ? 1 : 2; }
  // cf.matrix holds context indices (and float ratings): floats are exact for indices below
  // 2^24 and halve the servers' memory; doubles beyond.
  bool matrix_float() const { return n_contexts() <= (1u << 24); }
  std::uint32_t n_entities() const { return st_->n_entities(s_.item_based); }
  std::uint32_t n_contexts() const { return st_->n_contexts(s_.item_based); }
  bool has_content() const { return s_.item_based && !o_.item_attributes.empty(); }
  // Content similarity: cosine over binary attribute features.
  SimilarityOptions content_options() const {
    SimilarityOptions c;
    c.measure = Measure::kCosine;
    c.k = s_.sim.k;
    c.binary = true;
    return c;
  }
  EntityBlock ContentBlock(const EntityBlock& like) const {
    const ItemFeatures& f = st_->features;
    EntityBlock b;
    b.begin = like.begin;
    b.end = like.end;
    for (std::uint32_t e = b.begin; e <= b.end; ++e) b.ptr.push_back(f.ptr[e] - f.ptr[b.begin]);
    b.ctx.assign(f.feat.begin() + static_cast<std::ptrdiff_t>(f.ptr[b.begin]),
                 f.feat.begin() + static_cast<std::ptrdiff_t>(f.ptr[b.end]));
    b.Prepare(content_options(), {}, static_cast<std::uint32_t>(f.names.size()));
    return b;
  }
  template <class T>
  Status PushMatrix(ps::KVClient& kv, ps::Deadline deadline);
  Status PushContextStats(ps::KVClient& kv, ps::Deadline deadline);
  template <class T>
  Result<std::shared_ptr<EntityBlock>> LoadBlock(ps::KVClient& kv, const sched::ShardPlan& plan, std::uint32_t b,
                                                 std::span<const double> context_mean, ps::Deadline deadline);
  template <class T>
  Status PullRows(ps::KVClient& kv, std::span<const std::uint32_t> entities, std::vector<std::uint64_t>* ptr,
                  std::vector<std::uint32_t>* ctx, std::vector<float>* val, ps::Deadline deadline);
  Status RecommendAndEvaluate(sched::JobContext& ctx, PodWriter* report, std::vector<std::any>* keep);
  Status WriteOutputs(sched::JobContext& ctx, const NeighborLists& neighbors, const NeighborLists& content);

  const CfOptions& o_;
  const Settings& s_;
  std::shared_ptr<CfState> st_;
  std::vector<WorkerReport> reports_;  // scheduler
};

std::vector<ps::TableSpec> ModelJob::Tables() const {
  return {
      {kMatrix, "cf.matrix", matrix_float() ? ps::ValueType::kFloat32 : ps::ValueType::kFloat64, matrix_width(),
       st_->nnz, false},
      {kNeighbors, "cf.neighbors", ps::ValueType::kFloat64, static_cast<std::uint32_t>(2 * s_.sim.k), n_entities(),
       false},
      {kContextStats, "cf.context_stats", ps::ValueType::kFloat64, 2, n_contexts(), false},
      // Content neighbours of items (empty-sized use when there are no attributes).
      {kContent, "cf.content", ps::ValueType::kFloat64, static_cast<std::uint32_t>(2 * s_.sim.k),
       has_content() ? st_->n_items : 1, false},
  };
}

Status ModelJob::SetupServer(ps::KVServer& server) {
  auto t = Tables();
  if (matrix_float()) {
    ECPS_RETURN_IF_ERROR(server.AddTable<float>(t[0], std::make_unique<ps::AssignRule<float>>()));
  } else {
    ECPS_RETURN_IF_ERROR(server.AddTable<double>(t[0], std::make_unique<ps::AssignRule<double>>()));
  }
  ECPS_RETURN_IF_ERROR(server.AddTable<double>(t[1], std::make_unique<TopKMergeRule>()));
  ECPS_RETURN_IF_ERROR(server.AddTable<double>(t[2], std::make_unique<ps::SumRule<double>>()));
  return server.AddTable<double>(t[3], std::make_unique<TopKMergeRule>());
}

Result<sched::ShardPlan> ModelJob::MakePlan(const ps::RoleTable& roles) {
  sched::ShardPlan p;
  p.num_workers = roles.num_workers();
  p.file_ranges.resize(static_cast<std::size_t>(p.num_workers));
  sched::PlanBlocks(n_entities(), p.num_workers, DefaultBlockSize(n_entities(), p.num_workers, o_.block_size), &p);
  return p;
}

// This worker's training entries, entity-major, into cf.matrix at the scheduler's offsets.
template <class T>
Status ModelJob::PushMatrix(ps::KVClient& kv, ps::Deadline deadline) {
  const OwnUsers& own = st_->own;
  const auto& entities = st_->entities;
  const bool values = matrix_width() == 2;
  // Entity-major copy of the entries (contexts ascending within an entity).
  std::vector<std::uint64_t> eptr(entities.size() + 1, 0);
  std::vector<std::uint32_t> ectx;
  std::vector<float> evals;
  if (s_.item_based) {
    std::vector<std::uint32_t> pos(st_->n_items, 0);
    for (std::size_t k = 0; k < entities.size(); ++k) pos[entities[k]] = static_cast<std::uint32_t>(k);
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
  auto entries = [&](std::size_t k, std::span<const std::uint32_t>* ctx, std::span<const float>* val) {
    if (s_.item_based) {
      *ctx = {ectx.data() + eptr[k], eptr[k + 1] - eptr[k]};
      *val = values ? std::span<const float>(evals.data() + eptr[k], eptr[k + 1] - eptr[k]) : std::span<const float>{};
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
  vals.reserve(staged * matrix_width());
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
      keys.push_back(st_->offsets[k] + t);
      vals.push_back(static_cast<T>(ctx[t]));
      if (values) vals.push_back(val.empty() ? T(1) : static_cast<T>(val[t]));
      if (keys.size() == kChunk) ECPS_RETURN_IF_ERROR(flush());
    }
  }
  return flush();
}

// Sums and counts of each context's values (the means adjusted cosine centres by).
Status ModelJob::PushContextStats(ps::KVClient& kv, ps::Deadline deadline) {
  const OwnUsers& own = st_->own;
  std::vector<ps::Key> keys;
  std::vector<double> vals;
  if (s_.item_based) {  // contexts = our users
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
    std::vector<double> cnt(st_->n_items, 0), sum(st_->n_items, 0);
    for (std::size_t t = 0; t < own.train_item.size(); ++t) {
      cnt[own.train_item[t]] += 1;
      sum[own.train_item[t]] += own.train_val.empty() ? 1.0 : own.train_val[t];
    }
    for (std::uint32_t j = 0; j < st_->n_items; ++j) {
      if (cnt[j] == 0) continue;
      keys.push_back(j);
      vals.push_back(cnt[j]);
      vals.push_back(sum[j]);
    }
  }
  if (keys.empty()) return Status::Ok();
  return kv.Wait(kv.Push<double>(kContextStats, keys, vals), deadline).WithContext("push cf.context_stats");
}

template <class T>
Result<std::shared_ptr<EntityBlock>> ModelJob::LoadBlock(ps::KVClient& kv, const sched::ShardPlan& plan,
                                                         std::uint32_t b, std::span<const double> context_mean,
                                                         ps::Deadline deadline) {
  auto blk = std::make_shared<EntityBlock>();
  blk->begin = static_cast<std::uint32_t>(plan.block_bounds[b]);
  blk->end = static_cast<std::uint32_t>(plan.block_bounds[b + 1]);
  const auto& ptr = st_->ptr;
  const std::uint64_t lo = ptr[blk->begin], hi = ptr[blk->end];
  blk->ptr.resize(blk->size() + 1);
  for (std::uint32_t e = 0; e <= blk->size(); ++e) blk->ptr[e] = ptr[blk->begin + e] - lo;
  const std::uint32_t width = matrix_width();
  blk->ctx.resize(hi - lo);
  if (width == 2) blk->val.resize(hi - lo);
  std::vector<T> buf(std::min<std::uint64_t>(kChunk, hi - lo) * width);
  for (std::uint64_t pos = lo; pos < hi; pos += kChunk) {
    const std::uint64_t n = std::min<std::uint64_t>(kChunk, hi - pos);
    std::span<T> out(buf.data(), n * width);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PullRange<T>(kMatrix, pos, pos + n, out), deadline), "pull cf.matrix");
    for (std::uint64_t t = 0; t < n; ++t) {
      blk->ctx[pos - lo + t] = static_cast<std::uint32_t>(buf[t * width]);
      if (width == 2) blk->val[pos - lo + t] = static_cast<float>(buf[t * width + 1]);
    }
  }
  // An entity's entries arrive grouped by the worker that pushed them. Sums of ratings
  // depend on their order, so they are sorted by context; counts (binary data) do not.
  if (!s_.sim.binary) blk->SortEntities();
  blk->Prepare(s_.sim, context_mean, n_contexts());
  return blk;
}

Status ModelJob::RunWorker(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  ps::KVClient& kv = *ctx.client;
  auto deadline = [&] { return node.DefaultDeadline(); };
  const auto t0 = Now();
  ECPS_RETURN_IF_ERROR(matrix_float() ? PushMatrix<float>(kv, deadline()) : PushMatrix<double>(kv, deadline()));
  node.log().debug("pushed {} matrix entries in {:.3f} s", st_->own.train_item.size(), Since(t0));
  if (s_.sim.measure == Measure::kAdjustedCosine) ECPS_RETURN_IF_ERROR(PushContextStats(kv, deadline()));
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  std::vector<double> context_mean;
  if (s_.sim.measure == Measure::kAdjustedCosine) {
    std::vector<double> stats(2 * static_cast<std::size_t>(n_contexts()));
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PullRange<double>(kContextStats, 0, n_contexts(), stats), deadline()),
                             "pull cf.context_stats");
    context_mean.resize(n_contexts());
    for (std::size_t c = 0; c < context_mean.size(); ++c) {
      context_mean[c] = stats[2 * c] > 0 ? stats[2 * c + 1] / stats[2 * c] : 0.0;
    }
  }

  // Similarity blocks: keep the blocks of the current task; tasks come sorted by row block.
  std::map<std::uint32_t, std::shared_ptr<EntityBlock>> cache;
  std::uint64_t pairs = 0;
  const std::size_t width = 2 * s_.sim.k;
  std::vector<double> out_r, out_c;
  for (const auto& task : ctx.plan.block_tasks[static_cast<std::size_t>(node.index())]) {
    bool evicted = false;
    for (auto it = cache.begin(); it != cache.end();) {
      const bool keep = it->first == task.row_block || it->first == task.col_block;
      evicted |= !keep;
      it = keep ? std::next(it) : cache.erase(it);
    }
    if (evicted) ReleaseFreeMemory();
    const auto tl = Now();
    for (std::uint32_t b : {task.row_block, task.col_block}) {
      if (cache.count(b)) continue;
      ECPS_ASSIGN_OR_RETURN(cache[b], matrix_float() ? LoadBlock<float>(kv, ctx.plan, b, context_mean, deadline())
                                                     : LoadBlock<double>(kv, ctx.plan, b, context_mean, deadline()));
    }
    const double load_s = Since(tl);
    const auto tc = Now();
    const EntityBlock& r = *cache[task.row_block];
    const EntityBlock& c = *cache[task.col_block];
    const bool diagonal = task.row_block == task.col_block;
    out_r.assign(r.size() * width, 0.0);
    out_c.assign(diagonal ? 0 : c.size() * width, 0.0);
    const std::uint64_t task_pairs = ComputeBlock(r, c, s_.sim, out_r.data(), out_c.data());
    auto hr = kv.PushRange<double>(kNeighbors, r.begin, r.end, out_r);
    ps::Handle hc = 0;
    if (!diagonal) hc = kv.PushRange<double>(kNeighbors, c.begin, c.end, out_c);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(hr, deadline()), "push cf.neighbors");
    if (hc) ECPS_RETURN_IF_ERROR_CTX(kv.Wait(hc, deadline()), "push cf.neighbors");
    if (has_content()) {  // the same block pair over item attributes
      const EntityBlock cr = ContentBlock(r);
      const EntityBlock cc = diagonal ? EntityBlock{} : ContentBlock(c);
      out_r.assign(r.size() * width, 0.0);
      out_c.assign(diagonal ? 0 : c.size() * width, 0.0);
      ComputeBlock(cr, diagonal ? cr : cc, content_options(), out_r.data(), out_c.data());
      ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PushRange<double>(kContent, r.begin, r.end, out_r), deadline()),
                               "push cf.content");
      if (!diagonal) {
        ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PushRange<double>(kContent, c.begin, c.end, out_c), deadline()),
                                 "push cf.content");
      }
    }
    pairs += task_pairs;
    node.log().debug("block ({}, {}): load {:.3f} s, compute and push {:.3f} s, {} pairs", task.row_block,
                     task.col_block, load_s, Since(tc), task_pairs);
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kTopicProgress, ps::EncodeControl(task_pairs)));
  }
  cache.clear();
  out_r = {};
  out_c = {};
  ECPS_RETURN_IF_ERROR(node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  const double similarity_s = Since(t0);

  const auto t1 = Now();
  PodWriter report;
  std::vector<std::any> keep;  // buffers the report points into
  report.AddValue(pairs).AddValue(similarity_s);
  ECPS_RETURN_IF_ERROR(RecommendAndEvaluate(ctx, &report, &keep));
  report.AddValue(Since(t1));
  return node.SendControl(ps::RoleTable::kSchedulerRank, kTopicReport, report.Finish());
}

// Neighbour lists for entities `keys` (sorted) pulled from cf.neighbors into `lists` (rows
// indexed by `row_of(key)`, increasing with the key), closed at `n` rows.
template <class RowOf>
Status PullNeighbors(ps::KVClient& kv, ps::TableId table, std::span<const ps::Key> keys,
                     std::size_t k, RowOf row_of, std::size_t n, NeighborLists* lists,
                     ps::Deadline deadline) {
  *lists = NeighborLists();
  lists->k = static_cast<std::uint32_t>(k);
  const std::size_t per = std::max<std::size_t>(1, kChunk / (2 * k));
  std::vector<double> buf;
  std::vector<Neighbor> row;
  for (std::size_t b = 0; b < keys.size(); b += per) {
    auto part = keys.subspan(b, std::min(per, keys.size() - b));
    buf.resize(part.size() * 2 * k);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.Pull<double>(table, part, buf), deadline), "pull neighbour lists");
    for (std::size_t t = 0; t < part.size(); ++t) {
      row.clear();
      DecodeRow(buf.data() + t * 2 * k, k, &row);
      const std::size_t at = row_of(part[t]);
      for (const Neighbor& nb : row) lists->Add(at, nb.id, static_cast<float>(nb.score));
    }
  }
  lists->Finish(n);
  return Status::Ok();
}

// The training rows of `entities` (sorted) from cf.matrix, as CSR.
template <class T>
Status ModelJob::PullRows(ps::KVClient& kv, std::span<const std::uint32_t> entities, std::vector<std::uint64_t>* ptr,
                          std::vector<std::uint32_t>* ctx, std::vector<float>* val, ps::Deadline deadline) {
  const std::uint32_t width = matrix_width();
  const auto& layout = st_->ptr;
  std::vector<ps::Key> keys;
  std::vector<T> buf;
  for (std::size_t q = 0; q < entities.size();) {
    keys.clear();
    const std::size_t q0 = q;
    while (q < entities.size() &&
           (keys.empty() || keys.size() + (layout[entities[q] + 1] - layout[entities[q]]) <= kChunk)) {
      for (std::uint64_t pos = layout[entities[q]]; pos < layout[entities[q] + 1]; ++pos) keys.push_back(pos);
      ++q;
    }
    buf.resize(keys.size() * width);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.Pull<T>(kMatrix, keys, buf), deadline), "pull cf.matrix rows");
    std::size_t t = 0;
    for (std::size_t v = q0; v < q; ++v) {
      const std::uint64_t n = layout[entities[v] + 1] - layout[entities[v]];
      for (std::uint64_t e = 0; e < n; ++e, ++t) {
        ctx->push_back(static_cast<std::uint32_t>(buf[t * width]));
        if (width == 2) val->push_back(static_cast<float>(buf[t * width + 1]));
      }
      ptr->push_back(ctx->size());
    }
  }
  return Status::Ok();
}

Status ModelJob::RecommendAndEvaluate(sched::JobContext& ctx, PodWriter* report, std::vector<std::any>* keep) {
  ps::KVClient& kv = *ctx.client;
  const auto deadline = ctx.node.DefaultDeadline();
  const OwnUsers& own = st_->own;
  const std::size_t k = s_.sim.k;
  const std::uint32_t n_items = st_->n_items;
  NeighborLists lists, content;
  ContentMix mix;
  // usercf: our users' neighbours' training rows, as CSR over `nb_users`.
  std::vector<std::uint32_t> nb_users;
  std::vector<std::uint64_t> nb_ptr{0};
  std::vector<std::uint32_t> nb_item;
  std::vector<float> nb_val;
  if (s_.item_based) {
    std::vector<ps::Key> needed(own.train_item.begin(), own.train_item.end());
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    auto row_of = [](ps::Key key) { return static_cast<std::size_t>(key); };
    ECPS_RETURN_IF_ERROR(
        PullNeighbors(kv, kNeighbors, needed, k, row_of, n_items, &lists, deadline));
    if (has_content()) {
      ECPS_RETURN_IF_ERROR(
          PullNeighbors(kv, kContent, needed, k, row_of, n_items, &content, deadline));
      mix.content = &content;
      mix.item_count = st_->item_count;
      mix.cold_threshold = static_cast<std::uint32_t>(o_.cold_threshold);
      mix.blend = o_.content_blend;
    }
  } else {
    std::vector<ps::Key> mine(own.users.begin(), own.users.end());
    ECPS_RETURN_IF_ERROR(PullNeighbors(
        kv, kNeighbors, mine, k,
        [&](ps::Key key) {
          return static_cast<std::size_t>(std::lower_bound(own.users.begin(), own.users.end(), key) - own.users.begin());
        },
        own.size(), &lists, deadline));
    nb_users = lists.id;
    std::sort(nb_users.begin(), nb_users.end());
    nb_users.erase(std::unique(nb_users.begin(), nb_users.end()), nb_users.end());
    ECPS_RETURN_IF_ERROR(matrix_float() ? PullRows<float>(kv, nb_users, &nb_ptr, &nb_item, &nb_val, deadline)
                                        : PullRows<double>(kv, nb_users, &nb_ptr, &nb_item, &nb_val, deadline));
  }

  // Score, list and evaluate our users, in parallel.
  const Popularity pop = Popularity::From(st_->item_count);
  const std::size_t N = static_cast<std::size_t>(o_.top_n);
  const std::size_t L = std::max<std::size_t>(N, s_.evaluate ? static_cast<std::size_t>(s_.max_k) : 0);
  const bool score_users = L > 0;  // -n 0 without evaluation: neighbour lists only
  const std::span<const int> ks(o_.metrics_k);
  auto rec_count = std::make_shared<std::vector<std::uint32_t>>(own.size(), 0);
  auto rec_items = std::make_shared<std::vector<std::uint32_t>>(own.size() * N, 0);
  auto rec_scores = std::make_shared<std::vector<float>>(own.size() * N, 0.0f);
  struct Local {
    ItemScores scores;
    EvalSums model, popularity;
    Coverage cov_model, cov_pop;
    std::vector<Scored> list, plist;
    std::vector<std::uint32_t> ranked, interacted, negatives, ranks_model, ranks_pop;
    std::vector<float> weights;
    Local(std::uint32_t n, std::size_t nk) : scores(n), model(nk), popularity(nk), cov_model(n), cov_pop(n) {}
  };
  tbb::enumerable_thread_specific<Local> tls([&] { return Local(n_items, ks.size()); });
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, own.size(), 16), [&](const auto& range) {
    Local& l = tls.local();
    for (std::size_t p = range.begin(); p != range.end() && score_users; ++p) {
      const std::uint32_t u = own.users[p];
      const auto train = own.Train(p);
      l.scores.Clear();
      if (s_.item_based) {
        UserItemWeights(own.Values(p), own.Ages(p), o_.recency_decay, &l.weights);
        ScoreFromItems(train, l.weights, lists, &l.scores, &mix);
      } else {
        auto ids = lists.Ids(p);
        auto sims = lists.Scores(p);
        for (std::size_t s = 0; s < ids.size(); ++s) {
          const std::size_t v = static_cast<std::size_t>(
              std::lower_bound(nb_users.begin(), nb_users.end(), ids[s]) - nb_users.begin());
          std::span<const std::uint32_t> items(nb_item.data() + nb_ptr[v], nb_ptr[v + 1] - nb_ptr[v]);
          std::span<const float> vals;
          if (!nb_val.empty()) vals = {nb_val.data() + nb_ptr[v], nb_ptr[v + 1] - nb_ptr[v]};
          ScoreFromUser(items, vals, sims[s], &l.scores);
        }
      }
      l.scores.Finish(s_.scoring);
      l.scores.Top(L, train, pop, o_.fill_popular, &l.list);
      const std::size_t nrec = std::min(N, l.list.size());
      (*rec_count)[p] = static_cast<std::uint32_t>(nrec);
      for (std::size_t t = 0; t < nrec; ++t) {
        (*rec_items)[p * N + t] = l.list[t].item;
        (*rec_scores)[p * N + t] = static_cast<float>(l.list[t].score);
        l.cov_model.Add(l.list[t].item);
      }
      PopularTop(L, train, pop, &l.plist);
      for (std::size_t t = 0; t < std::min(N, l.plist.size()); ++t) l.cov_pop.Add(l.plist[t].item);
      const auto targets = own.Targets(p);
      if (!s_.evaluate || targets.empty()) continue;
      l.ranked.clear();
      for (const auto& sc : l.list) l.ranked.push_back(sc.item);
      AddFullRanking(l.ranked, targets, ks, &l.model);
      l.ranked.clear();
      for (const auto& sc : l.plist) l.ranked.push_back(sc.item);
      AddFullRanking(l.ranked, targets, ks, &l.popularity);
      // Sampled protocol: each target among negatives the user never interacted with.
      l.interacted.assign(train.begin(), train.end());
      l.interacted.insert(l.interacted.end(), targets.begin(), targets.end());
      const auto dropped = own.Dropped(p);
      l.interacted.insert(l.interacted.end(), dropped.begin(), dropped.end());
      std::sort(l.interacted.begin(), l.interacted.end());
      SampleNegatives(o_.seed, u, n_items, l.interacted, static_cast<std::size_t>(o_.sampled_negatives), &l.negatives);
      l.ranks_model.clear();
      l.ranks_pop.clear();
      for (std::uint32_t t : targets) {
        std::uint32_t above = 0, above_pop = 0;
        for (std::uint32_t neg : l.negatives) {
          above += l.scores.Before(neg, t, pop) ? 1 : 0;
          above_pop += pop.rank[neg] < pop.rank[t] ? 1 : 0;
        }
        l.ranks_model.push_back(above);
        l.ranks_pop.push_back(above_pop);
      }
      AddSampled(l.ranks_model, ks, &l.model);
      AddSampled(l.ranks_pop, ks, &l.popularity);
      l.model.users += 1;
      l.popularity.users += 1;
    }
  });
  auto model = std::make_shared<EvalSums>(ks.size());
  auto popularity = std::make_shared<EvalSums>(ks.size());
  auto cov_model = std::make_shared<Coverage>(n_items);
  auto cov_pop = std::make_shared<Coverage>(n_items);
  for (auto& l : tls) {
    model->Merge(l.model);
    popularity->Merge(l.popularity);
    cov_model->Merge(l.cov_model);
    cov_pop->Merge(l.cov_pop);
  }
  keep->insert(keep->end(), {rec_count, rec_items, rec_scores, model, popularity, cov_model, cov_pop});
  report->Add(own.users).Add(*rec_count).Add(*rec_items).Add(*rec_scores);
  report->AddValue(model->users).Add(model->full).Add(model->sampled);
  report->AddValue(popularity->users).Add(popularity->full).Add(popularity->sampled);
  report->Add(cov_model->bits).Add(cov_pop->bits);
  if (o_.save_model) {
    report->Add(own.train_ptr).Add(own.train_item).Add(own.train_val).Add(own.train_age);
  } else {
    report->Add(std::span<const std::uint64_t>{}).Add(std::span<const std::uint32_t>{}).Add(std::span<const float>{});
    report->Add(std::span<const std::uint32_t>{});
  }
  return Status::Ok();
}

Status ModelJob::RunScheduler(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  std::uint64_t total = 0;
  for (const auto& t : ctx.plan.block_tasks) total += t.size();
  sched::ProgressOptions po;
  po.quiet = o_.quiet;
  sched::Progress progress(node.log(), fmt::format("{} similarity blocks", o_.kind), total, po);
  std::uint64_t pairs = 0;
  for (std::uint64_t done = 0; done < total;) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicProgress, -1, node.DefaultDeadline()));
    std::uint64_t p = 0;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &p));
    pairs += p;
    ++done;
    progress.Update(done, fmt::format("{} candidate pairs", pairs));
  }
  progress.Finish(fmt::format("{} candidate pairs", pairs));
  const std::size_t nk = o_.metrics_k.size();
  for (int w = 0; w < node.roles().num_workers(); ++w) {
    WorkerReport r;
    ECPS_ASSIGN_OR_RETURN(r.msg, node.RecvControl(kTopicReport, node.roles().WorkerRank(w), node.DefaultDeadline()));
    ECPS_ASSIGN_OR_RETURN(PodReader rd, PodReader::Open(r.msg.control));
    ECPS_ASSIGN_OR_RETURN(r.pairs, rd.NextValue<std::uint64_t>());
    ECPS_ASSIGN_OR_RETURN(r.similarity_s, rd.NextValue<double>());
    ECPS_ASSIGN_OR_RETURN(r.users, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(r.rec_count, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(r.rec_items, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(r.rec_scores, rd.Next<float>());
    for (EvalSums* e : {&r.model, &r.popularity}) {
      ECPS_ASSIGN_OR_RETURN(e->users, rd.NextValue<double>());
      ECPS_ASSIGN_OR_RETURN(e->full, rd.NextVector<RankSums>());
      ECPS_ASSIGN_OR_RETURN(e->sampled, rd.NextVector<RankSums>());
      if (e->full.size() != nk || e->sampled.size() != nk) return Internal("metric partials of the wrong size");
    }
    ECPS_ASSIGN_OR_RETURN(r.cov_model.bits, rd.NextVector<std::uint64_t>());
    ECPS_ASSIGN_OR_RETURN(r.cov_pop.bits, rd.NextVector<std::uint64_t>());
    ECPS_ASSIGN_OR_RETURN(r.train_ptr, rd.Next<std::uint64_t>());
    ECPS_ASSIGN_OR_RETURN(r.train_item, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(r.train_val, rd.Next<float>());
    ECPS_ASSIGN_OR_RETURN(r.train_age, rd.Next<std::uint32_t>());
    ECPS_ASSIGN_OR_RETURN(r.recommend_s, rd.NextValue<double>());
    reports_.push_back(std::move(r));
  }
  return Status::Ok();
}

Status ModelJob::FinishServer(sched::JobContext& ctx) {
  auto rows = ctx.server->Rows<double>(kNeighbors);
  auto range = ctx.server->RangeOf(kNeighbors);
  PodWriter w;
  w.AddValue(range.begin).AddValue(range.end).Add(rows);
  ECPS_RETURN_IF_ERROR(ctx.node.SendControl(ps::RoleTable::kSchedulerRank, kTopicServerRows, w.Finish()));
  if (!has_content()) return Status::Ok();
  auto crows = ctx.server->Rows<double>(kContent);
  auto crange = ctx.server->RangeOf(kContent);
  PodWriter c;
  c.AddValue(crange.begin).AddValue(crange.end).Add(crows);
  return ctx.node.SendControl(ps::RoleTable::kSchedulerRank, kTopicServerContent, c.Finish());
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

// Streams text to an AtomicWriter in large pieces.
class CsvOut {
 public:
  static Result<CsvOut> Open(const std::string& path) {
    ECPS_ASSIGN_OR_RETURN(auto w, AtomicWriter::Open(path));
    return CsvOut(std::move(w));
  }
  std::string& buf() { return buf_; }
  Status MaybeFlush() {
    if (buf_.size() < (1u << 20)) return Status::Ok();
    ECPS_RETURN_IF_ERROR(w_->Write(buf_));
    buf_.clear();
    return Status::Ok();
  }
  Status Commit() {
    ECPS_RETURN_IF_ERROR(w_->Write(buf_));
    return w_->Commit();
  }

 private:
  explicit CsvOut(std::unique_ptr<AtomicWriter> w) : w_(std::move(w)) {}
  std::unique_ptr<AtomicWriter> w_;
  std::string buf_;
};

// Scheduler: the rows of a neighbour table, as each server sent them on `topic`.
Result<NeighborLists> ReceiveLists(ps::Node& node, std::uint32_t topic, std::size_t n, std::size_t k) {
  std::vector<std::vector<Neighbor>> rows(n);  // servers may answer in any order
  for (int s = 0; s < node.roles().num_servers(); ++s) {
    ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(topic, node.roles().ServerRank(s), node.DefaultDeadline()));
    ECPS_ASSIGN_OR_RETURN(PodReader rd, PodReader::Open(m.control));
    ECPS_ASSIGN_OR_RETURN(auto begin, rd.NextValue<ps::Key>());
    ECPS_ASSIGN_OR_RETURN(auto end, rd.NextValue<ps::Key>());
    ECPS_ASSIGN_OR_RETURN(auto dense, rd.Next<double>());
    if (end > n || begin > end || dense.size() != (end - begin) * 2 * k) {
      return Internal("neighbour rows of the wrong size");
    }
    for (ps::Key e = begin; e < end; ++e)
      DecodeRow(dense.data() + (e - begin) * 2 * k, k, &rows[e]);
  }
  NeighborLists lists;
  lists.k = static_cast<std::uint32_t>(k);
  for (std::size_t e = 0; e < n; ++e) {
    for (const Neighbor& nb : rows[e]) lists.Add(e, nb.id, static_cast<float>(nb.score));
    std::vector<Neighbor>().swap(rows[e]);
  }
  lists.Finish(n);
  return lists;
}

Status ModelJob::FinishScheduler(sched::JobContext& ctx) {
  ECPS_ASSIGN_OR_RETURN(auto lists, ReceiveLists(ctx.node, kTopicServerRows, n_entities(), s_.sim.k));
  NeighborLists content;
  if (has_content()) {
    ECPS_ASSIGN_OR_RETURN(content, ReceiveLists(ctx.node, kTopicServerContent, st_->n_items, s_.sim.k));
  }
  return WriteOutputs(ctx, lists, content);
}

Status ModelJob::WriteOutputs(sched::JobContext& ctx, const NeighborLists& lists, const NeighborLists& content) {
  ps::Node& node = ctx.node;
  const auto t0 = Now();
  const std::string dir = o_.out;
  ECPS_RETURN_IF_ERROR(PrepareOutputDir(dir));
  auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  const auto& uids = st_->user_ids;
  const auto& iids = st_->item_ids;
  const std::uint32_t n_users = st_->n_users;
  const std::size_t N = static_cast<std::size_t>(o_.top_n);

  // Where each user's rows are: (report, position).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> where(n_users, {~0u, 0});
  for (std::size_t r = 0; r < reports_.size(); ++r) {
    for (std::size_t p = 0; p < reports_[r].users.size(); ++p) {
      where[reports_[r].users[p]] = {static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(p)};
    }
  }

  if (N > 0) {
    ECPS_ASSIGN_OR_RETURN(CsvOut out, CsvOut::Open(path("recommendations.csv")));
    out.buf() += "user,item,score\n";
    for (std::uint32_t u = 0; u < n_users; ++u) {
      if (where[u].first == ~0u) continue;
      const WorkerReport& r = reports_[where[u].first];
      const std::size_t p = where[u].second;
      const std::string user = CsvField(uids[u]);
      for (std::size_t t = 0; t < r.rec_count[p]; ++t) {
        fmt::format_to(std::back_inserter(out.buf()), "{},{},{:.6g}\n", user, CsvField(iids[r.rec_items[p * N + t]]),
                       r.rec_scores[p * N + t]);
      }
      ECPS_RETURN_IF_ERROR(out.MaybeFlush());
    }
    ECPS_RETURN_IF_ERROR(out.Commit());
  }

  const auto& eids = s_.item_based ? iids : uids;
  auto write_lists = [&](const NeighborLists& nl, const char* name, const char* header) -> Status {
    ECPS_ASSIGN_OR_RETURN(CsvOut out, CsvOut::Open(path(name)));
    out.buf() += header;
    for (std::size_t e = 0; e < nl.size(); ++e) {
      auto ids = nl.Ids(e);
      auto sc = nl.Scores(e);
      const std::string entity = CsvField(eids[e]);
      for (std::size_t t = 0; t < ids.size(); ++t) {
        fmt::format_to(std::back_inserter(out.buf()), "{},{},{:.6g}\n", entity, CsvField(eids[ids[t]]), sc[t]);
      }
      ECPS_RETURN_IF_ERROR(out.MaybeFlush());
    }
    return out.Commit();
  };
  if (o_.write_neighbors) {
    ECPS_RETURN_IF_ERROR(
        write_lists(lists, "neighbors.csv", s_.item_based ? "item,neighbor,score\n" : "user,neighbor,score\n"));
    if (has_content()) ECPS_RETURN_IF_ERROR(write_lists(content, "content_neighbors.csv", "item,neighbor,score\n"));
  }

  if (o_.save_model) {
    CfModel m;
    m.kind = o_.kind;
    m.similarity = MeasureName(s_.sim.measure);
    m.scoring = s_.scoring_name;
    m.recency_decay = o_.recency_decay;
    if (has_content()) {
      m.content = content;
      m.cold_threshold = static_cast<std::uint32_t>(o_.cold_threshold);
      m.content_blend = o_.content_blend;
    }
    m.explicit_ratings = s_.explicit_ratings;
    m.user_ids = uids;
    m.item_ids = iids;
    m.neighbors = lists;
    m.item_count = st_->item_count;
    m.train_ptr.assign(1, 0);
    m.train_ptr.reserve(static_cast<std::size_t>(n_users) + 1);
    m.train_item.reserve(st_->nnz);
    if (o_.recency_decay < 1.0) m.train_age.reserve(st_->nnz);
    if (s_.explicit_ratings) m.train_val.reserve(st_->nnz);
    for (std::uint32_t u = 0; u < n_users; ++u) {
      if (where[u].first != ~0u) {
        const WorkerReport& r = reports_[where[u].first];
        const std::size_t p = where[u].second;
        const auto b = static_cast<std::ptrdiff_t>(r.train_ptr[p]), e = static_cast<std::ptrdiff_t>(r.train_ptr[p + 1]);
        m.train_item.insert(m.train_item.end(), r.train_item.begin() + b, r.train_item.begin() + e);
        if (!r.train_age.empty()) m.train_age.insert(m.train_age.end(), r.train_age.begin() + b, r.train_age.begin() + e);
        if (!r.train_val.empty()) {
          m.train_val.insert(m.train_val.end(), r.train_val.begin() + static_cast<std::ptrdiff_t>(r.train_ptr[p]),
                             r.train_val.begin() + static_cast<std::ptrdiff_t>(r.train_ptr[p + 1]));
        }
      }
      m.train_ptr.push_back(m.train_item.size());
    }
    // The checks `recommend` applies when loading (finite scores included): a model that
    // would be refused is not written.
    if (Status s = CheckModel(m, "the trained model"); !s.ok()) return Internal(s.message());
    ECPS_RETURN_IF_ERROR(SaveCfModel(path("model.ecps"), m));
  }

  // Metrics.
  EvalSums model(o_.metrics_k.size()), popularity(o_.metrics_k.size());
  Coverage cov_model(st_->n_items), cov_pop(st_->n_items);
  std::uint64_t pairs = 0;
  double similarity_s = 0, recommend_s = 0;
  for (const auto& r : reports_) {
    model.Merge(r.model);
    popularity.Merge(r.popularity);
    cov_model.Merge(r.cov_model);
    cov_pop.Merge(r.cov_pop);
    pairs += r.pairs;
    similarity_s = std::max(similarity_s, r.similarity_s);
    recommend_s = std::max(recommend_s, r.recommend_s);
  }
  std::size_t with_neighbors = 0, neighbor_slots = 0;
  for (std::size_t e = 0; e < lists.size(); ++e) {
    const std::size_t n = lists.Ids(e).size();
    with_neighbors += n > 0 ? 1 : 0;
    neighbor_slots += n;
  }
  nlohmann::json j;
  j["model"] = o_.kind;
  j["config"] = {{"train", o_.train},
                 {"similarity", o_.similarity},
                 {"neighbors", o_.neighbors},
                 {"n", o_.top_n},
                 {"shrinkage", o_.shrinkage},
                 {"min_support", o_.min_support},
                 {"block_size", o_.block_size},
                 {"scoring", s_.scoring_name},
                 {"fill_popular", o_.fill_popular},
                 {"recency_decay", o_.recency_decay},
                 {"feedback", s_.explicit_ratings ? "explicit" : "implicit"},
                 {"split", o_.split},
                 {"evaluate_on", o_.evaluate_on},
                 {"holdout_fraction", o_.holdout_fraction},
                 {"min_user_interactions", o_.min_user_interactions},
                 {"metrics_k", o_.metrics_k},
                 {"sampled_negatives", o_.sampled_negatives},
                 {"seed", o_.seed}};
  j["data"] = st_->data;
  if (has_content()) {
    std::size_t cold = 0;
    for (auto c : st_->item_count) cold += c < static_cast<std::uint32_t>(o_.cold_threshold) ? 1 : 0;
    j["content"] = {{"attributes", o_.item_attributes},
                    {"items_with_attributes", st_->features.items_with_attributes},
                    {"features", st_->features.names.size()},
                    {"cold_items", cold},
                    {"cold_threshold", o_.cold_threshold},
                    {"content_blend", o_.content_blend}};
  }
  j["similarity"] = {{"blocks", ctx.plan.block_bounds.size() - 1},
                     {"tasks", std::accumulate(ctx.plan.block_tasks.begin(), ctx.plan.block_tasks.end(), std::size_t{0},
                                               [](std::size_t a, const auto& t) { return a + t.size(); })},
                     {"candidate_pairs", pairs},
                     {"entities_with_neighbors", with_neighbors},
                     {"mean_neighbors", lists.size() ? static_cast<double>(neighbor_slots) / lists.size() : 0.0}};
  const double n_items = st_->n_items ? st_->n_items : 1;
  if (s_.evaluate) {
    auto mj = model.ToJson(o_.metrics_k), pj = popularity.ToJson(o_.metrics_k);
    j["evaluation"] = {{"split", o_.split},
                       {"on", o_.evaluate_on},
                       {"users", model.users},
                       {"sampled_negatives", o_.sampled_negatives},
                       {"full", {{o_.kind, mj["full"]}, {"popularity", pj["full"]}}},
                       {"sampled", {{o_.kind, mj["sampled"]}, {"popularity", pj["sampled"]}}}};
  }
  j["coverage"] = {{"n", o_.top_n},
                   {o_.kind, static_cast<double>(cov_model.Count()) / n_items},
                   {"popularity", static_cast<double>(cov_pop.Count()) / n_items}};
  j["roles"] = {{"servers", node.roles().num_servers()}, {"workers", node.roles().num_workers()}};
  const double write_s = Since(t0);
  j["timings"] = {{"ingest_s", st_->ingest_s},
                  {"similarity_s", similarity_s},
                  {"recommend_s", recommend_s},
                  {"write_s", write_s},
                  {"total_s", Since(st_->started)}};
  ECPS_RETURN_IF_ERROR(WriteJsonFile(path("metrics.json"), j));
  ECPS_ASSIGN_OR_RETURN(auto log, JsonLinesLog::Open(path("metrics.jsonl")));
  if (s_.evaluate) {
    for (const char* protocol : {"full", "sampled"}) {
      for (const std::string& method : {o_.kind, std::string("popularity")}) {
        nlohmann::json line = j["evaluation"][protocol][method];
        line["protocol"] = protocol;
        line["method"] = method;
        ECPS_RETURN_IF_ERROR(log->Append(line));
      }
    }
  }
  ECPS_RETURN_IF_ERROR(log->Close());
  if (s_.evaluate) {
    const std::string k = std::to_string(s_.max_k);
    auto val = [&](const char* protocol, const std::string& method, const std::string& metric) {
      return j["evaluation"][protocol][method][metric + "@" + k].get<double>();
    };
    node.log().info("{} on {} ({} users): full HR@{} {:.4f} NDCG@{} {:.4f} (popularity {:.4f} / {:.4f}); sampled "
                    "HR@{} {:.4f} NDCG@{} {:.4f} (popularity {:.4f} / {:.4f})",
                    o_.kind, o_.evaluate_on, model.users, k, val("full", o_.kind, "HR"), k, val("full", o_.kind, "NDCG"),
                    val("full", "popularity", "HR"), val("full", "popularity", "NDCG"), k,
                    val("sampled", o_.kind, "HR"), k, val("sampled", o_.kind, "NDCG"),
                    val("sampled", "popularity", "HR"), val("sampled", "popularity", "NDCG"));
  }
  node.log().info("{}: {} entities with neighbours (mean {:.1f}), similarity {:.2f} s, recommendations {:.2f} s; "
                  "outputs in {}",
                  o_.kind, with_neighbors, j["similarity"]["mean_neighbors"].get<double>(), similarity_s, recommend_s, dir);
  return Status::Ok();
}

// Per-rank state across the two jobs (one entry per rank: a thread in single-node mode,
// this process under MPI).
class StateMap {
 public:
  std::shared_ptr<CfState> Get(ps::Rank r) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& s = states_[r];
    if (!s) s = std::make_shared<CfState>();
    return s;
  }
  void ForEach(const std::function<void(CfState&)>& f) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [r, s] : states_) f(*s);
  }

 private:
  std::mutex mu_;
  std::map<ps::Rank, std::shared_ptr<CfState>> states_;
};

}  // namespace

Status CfOptions::Validate() const {
  if (kind != "itemcf" && kind != "usercf") return InvalidArgument("kind must be itemcf or usercf, got \"" + kind + "\"");
  if (train.empty()) return InvalidArgument("--train: an interaction file is required");
  if (out.empty()) return InvalidArgument("--out: an output folder is required");
  if (feedback != "auto" && feedback != "implicit" && feedback != "explicit") {
    return InvalidArgument("--feedback must be auto, implicit or explicit, got \"" + feedback + "\"");
  }
  if (neighbors < 1 || neighbors > 10000) return InvalidArgument(fmt::format("--neighbors must be in [1, 10000], got {}", neighbors));
  if (top_n < 0) return InvalidArgument(fmt::format("-n must be >= 0, got {}", top_n));
  if (!(shrinkage >= 0)) return InvalidArgument(fmt::format("--shrinkage must be >= 0, got {}", shrinkage));
  if (min_support < 1) return InvalidArgument(fmt::format("--min-support must be >= 1, got {}", min_support));
  if (!(holdout_fraction > 0 && holdout_fraction < 1)) {
    return InvalidArgument(fmt::format("--holdout-fraction must be in (0, 1), got {}", holdout_fraction));
  }
  if (min_user_interactions < 2) {
    return InvalidArgument(fmt::format("--min-user-interactions must be >= 2, got {}", min_user_interactions));
  }
  if (metrics_k.empty()) return InvalidArgument("--metrics-k: at least one cutoff");
  for (int k : metrics_k) {
    if (k < 1) return InvalidArgument(fmt::format("--metrics-k: cutoffs must be >= 1, got {}", k));
  }
  if (sampled_negatives < 1) return InvalidArgument("--sampled-negatives must be >= 1");
  if (!item_attributes.empty() && kind != "itemcf") {
    return InvalidArgument("--item-attributes: content-based similarity is for itemcf");
  }
  if (cold_threshold < 0) return InvalidArgument(fmt::format("--cold-threshold must be >= 0, got {}", cold_threshold));
  if (!(content_blend >= 0 && content_blend <= 1)) {
    return InvalidArgument(fmt::format("--content-blend must be in [0, 1], got {}", content_blend));
  }
  if (numeric_bands < 1) return InvalidArgument(fmt::format("--numeric-bands must be >= 1, got {}", numeric_bands));
  if (!(recency_decay > 0 && recency_decay <= 1)) {
    return InvalidArgument(fmt::format("--recency-decay must be in (0, 1], got {}", recency_decay));
  }
  ECPS_RETURN_IF_ERROR(worker::ParseHeaderMode(header).status());
  ECPS_RETURN_IF_ERROR(ParseMeasure(similarity).status());
  ECPS_RETURN_IF_ERROR(ParseScoring(scoring, false).status());
  ECPS_RETURN_IF_ERROR(ParseSplitKind(split).status());
  return ParseEvalTarget(evaluate_on).status();
}

std::uint64_t NeighborListBytes(std::uint64_t entities, std::uint64_t content_items,
                                std::uint64_t k, int workers, std::uint64_t block) {
  const std::uint64_t slot = 2 * sizeof(double);
  const auto w = static_cast<std::uint64_t>(std::max(workers, 1));
  return (entities + content_items) * k * slot + w * 2 * std::min(block, entities) * k * slot;
}

std::uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

Status TrainCf(const CfOptions& options, const ClusterRunner& run) {
  ECPS_ASSIGN_OR_RETURN(const Settings settings, Resolve(options));
  StateMap states;
  const auto t0 = Now();
  ECPS_RETURN_IF_ERROR(run([&](ps::Rank r) {
    auto st = states.Get(r);
    st->started = t0;
    return std::make_shared<IngestJob>(options, settings, st);
  }));
  states.ForEach([&](CfState& s) { s.ingest_s = Since(t0); });
  return run([&](ps::Rank r) { return std::make_shared<ModelJob>(options, settings, states.Get(r)); });
}

}  // namespace ecps::models::cf
