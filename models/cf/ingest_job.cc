#include "models/cf/ingest_job.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>

#include "models/cf/checkpoint.h"
#include "models/cf/ids.h"
#include "models/cf/layout.h"
#include "models/cf/messages.h"
#include "models/cf/model.h"
#include "models/cf/pack.h"
#include "models/cf/progress.h"
#include "models/cf/read_rows.h"
#include "models/cf/text_features.h"
#include "ps/collective.h"

namespace ecps::models::cf {
namespace {

// Global indices of a worker's local ids (by local index).
struct GlobalIndex {
  std::vector<std::uint32_t> user, item;
  std::uint32_t n_users = 0, n_items = 0;
};

// Sends the worker's distinct ids to the scheduler and returns their global indices.
Result<GlobalIndex> ExchangeIds(ps::Node& node, LocalRows* local) {
  const auto user_order = local->users.CanonicalOrder();
  const auto item_order = local->items.CanonicalOrder();
  IdReport& report = local->report;
  for (auto l : user_order) report.users.push_back(local->users.ids()[l]);
  for (auto l : item_order) report.items.push_back(local->items.ids()[l]);
  ECPS_RETURN_IF_ERROR(
      ps::Gather(node, kTopicIds, ps::WorkerRanks(node.roles()), report, node.DefaultDeadline())
          .status());
  report = IdReport{};
  ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicAssign, ps::RoleTable::kSchedulerRank,
                                                        node.DefaultDeadline()));
  IdAssignment assignment;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &assignment));
  if (assignment.users.size() != user_order.size() ||
      assignment.items.size() != item_order.size()) {
    return Internal("id assignment does not match the ids sent");
  }
  GlobalIndex global{std::vector<std::uint32_t>(user_order.size()),
                     std::vector<std::uint32_t>(item_order.size()), assignment.n_users,
                     assignment.n_items};
  for (std::size_t k = 0; k < user_order.size(); ++k)
    global.user[user_order[k]] = assignment.users[k];
  for (std::size_t k = 0; k < item_order.size(); ++k)
    global.item[item_order[k]] = assignment.items[k];
  return global;
}

// Moves every row to the worker owning its user (in global indices); `rows` becomes this
// worker's rows in file order.
Status ShuffleByUser(sched::JobContext& ctx, const IdDictionary& users, const GlobalIndex& global,
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
  struct Outgoing {
    ps::Blob blob;
    std::vector<std::byte*> at;
    std::size_t n = 0;
  };
  std::vector<Outgoing> out(static_cast<std::size_t>(W));
  for (int d = 0; d < W; ++d) {
    if (d == me) continue;
    const std::size_t c = count[static_cast<std::size_t>(d)];
    std::vector<std::size_t> bytes{c * 4, c * 4, has_v ? c * 4 : 0, has_t ? c * 8 : 0};
    out[static_cast<std::size_t>(d)].blob =
        AllocateSections(bytes, &out[static_cast<std::size_t>(d)].at);
  }
  std::size_t kept = 0;
  for (std::size_t r = 0; r < rows->size(); ++r) {
    const int d = owner[rows->user[r]];
    const std::uint32_t u = global.user[rows->user[r]], i = global.item[rows->item[r]];
    if (d == me) {
      rows->user[kept] = u;
      rows->item[kept] = i;
      if (has_v) rows->value[kept] = rows->value[r];
      if (has_t) rows->ts[kept] = rows->ts[r];
      ++kept;
      continue;
    }
    Outgoing& o = out[static_cast<std::size_t>(d)];
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
    ECPS_ASSIGN_OR_RETURN(
        incoming[static_cast<std::size_t>(d)],
        node.RecvControl(kTopicShuffle, node.roles().WorkerRank(d), node.DefaultDeadline()));
    total +=
        (incoming[static_cast<std::size_t>(d)].control.size()) / 8;  // an upper bound, for reserve
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
    if (i.size() != u.size() || (has_v && v.size() != u.size()) ||
        (has_t && t.size() != u.size())) {
      return Internal("shuffled rows with sections of different lengths");
    }
    merged.Append(u, i, v, t);
    m = ps::Message{};  // free the payload now
  }
  *rows = std::move(merged);
  return Status::Ok();
}

// Groups this worker's rows by user into `own`: the latest interaction of each (user,
// item) pair, split into training, targets and dropped items. Counts go to `report`.
void GroupAndSplit(const Rows& rows, std::uint32_t n_users, const SplitOptions& split,
                   bool keep_ages, OwnUsers* own_out, CountReport* report) {
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
  OwnUsers& own = *own_out;
  own = OwnUsers{};
  own.train_item.reserve(n);
  if (keep_ages) own.train_age.reserve(n);
  if (has_v) own.train_val.reserve(n);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> by_item;  // (item, time position)
  std::vector<std::uint32_t> seq, seq_rows;
  std::vector<Part> parts;
  std::vector<std::tuple<std::uint32_t, float, std::uint32_t>> train;  // item, value, age
  std::vector<std::uint32_t> dropped;
  std::vector<std::pair<std::uint32_t, float>> targets;  // item, value
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
    std::sort(by_item.begin(), by_item.end(),
              [](const auto& x, const auto& y) { return x.second < y.second; });
    seq.clear();
    seq_rows.clear();
    for (const auto& [item, p] : by_item) {
      seq.push_back(item);
      seq_rows.push_back(perm[p]);
    }
    parts.assign(seq.size(), Part::kTrain);
    SplitUser(u, seq, split, parts);
    train.clear();
    targets.clear();
    dropped.clear();
    const auto n_train =
        static_cast<std::uint32_t>(std::count(parts.begin(), parts.end(), Part::kTrain));
    for (std::size_t t = 0; t < seq.size(); ++t) {
      switch (parts[t]) {
        case Part::kTrain:
          train.emplace_back(seq[t], has_v ? rows.value[seq_rows[t]] : 1.0f,
                             n_train - 1 - static_cast<std::uint32_t>(train.size()));
          break;
        case Part::kTarget:
          targets.emplace_back(seq[t], has_v ? rows.value[seq_rows[t]] : 1.0f);
          break;
        case Part::kDropped:
          dropped.push_back(seq[t]);
          break;
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
    for (const auto& [item, v] : targets) {
      own.target_item.push_back(item);
      if (has_v) own.target_val.push_back(v);
    }
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

// What the scheduler learns of the file from the workers' IdReports.
struct FileSummary {
  std::uint64_t rows = 0, skipped = 0;
  std::vector<std::string> examples;
  std::uint64_t excluded_rows = 0;
  std::unordered_set<std::string> excluded_users;
};

// Scheduler: merges the workers' ids into canonical order (into `state`) and sends each
// worker the global indices of its ids.
Result<FileSummary> AssignIds(ps::Node& node, const std::string& train, RankState* state) {
  const auto workers = ps::WorkerRanks(node.roles());
  ECPS_ASSIGN_OR_RETURN(auto reports,
                        ps::Gather(node, kTopicIds, workers, IdReport{}, node.DefaultDeadline()));
  FileSummary file;
  std::vector<std::vector<std::string>> user_lists, item_lists;
  for (auto& r : reports) {
    file.rows += r.rows;
    file.skipped += r.skipped;
    file.excluded_rows += r.excluded;
    file.excluded_users.insert(r.excluded_users.begin(), r.excluded_users.end());
    for (auto& e : r.examples) {
      if (file.examples.size() < worker::InteractionReader::kMaxExamples)
        file.examples.push_back(e);
    }
    user_lists.push_back(std::move(r.users));
    item_lists.push_back(std::move(r.items));
  }
  reports.clear();
  if (file.skipped > 0) {
    node.log().warn("skipped {} bad row(s) of {} (--skip-bad-rows); first: {}", file.skipped, train,
                    file.examples.empty() ? "" : file.examples.front());
  }
  if (file.rows == 0) {
    return DataError(fmt::format("{}: no interactions to train on ({} bad row(s) skipped)", train,
                                 file.skipped));
  }
  std::vector<std::vector<std::uint32_t>> user_index, item_index;
  state->user_ids = MergeIdLists(user_lists, &user_index);
  state->item_ids = MergeIdLists(item_lists, &item_index);
  user_lists.clear();
  item_lists.clear();
  if (state->user_ids.size() >= NeighborLists::kNone ||
      state->item_ids.size() >= NeighborLists::kNone) {
    return DataError("more than 2^32 - 1 distinct users or items");
  }
  state->n_users = static_cast<std::uint32_t>(state->user_ids.size());
  state->n_items = static_cast<std::uint32_t>(state->item_ids.size());
  for (std::size_t w = 0; w < workers.size(); ++w) {
    IdAssignment a{std::move(user_index[w]), std::move(item_index[w]), state->n_users,
                   state->n_items};
    ECPS_RETURN_IF_ERROR(node.SendControl(workers[w], kTopicAssign, ps::EncodeControl(a)));
  }
  return file;
}

// Scheduler: adds up the workers' counts into the matrix layout and the popularity (into
// `state`), builds the item features, and sends each worker its Layout. Returns the totals.
Result<CountReport> LayOutMatrix(ps::Node& node, const CfOptions& options, RankState* state) {
  const auto workers = ps::WorkerRanks(node.roles());
  ECPS_ASSIGN_OR_RETURN(
      auto counts, ps::Gather(node, kTopicCounts, workers, CountReport{}, node.DefaultDeadline()));
  const std::uint32_t n_items = state->n_items;
  std::vector<std::uint64_t> ptr(
      static_cast<std::size_t>(state->n_entities(options.item_based())) + 1, 0);
  std::vector<std::uint32_t> item_count(n_items, 0);
  CountReport total;
  for (const auto& c : counts) {
    for (std::size_t k = 0; k < c.entities.size(); ++k)
      ptr[c.entities[k] + 1] += c.entity_counts[k];
    for (std::size_t k = 0; k < c.items.size(); ++k) item_count[c.items[k]] += c.item_counts[k];
    total.users += c.users;
    total.evaluated_users += c.evaluated_users;
    total.targets += c.targets;
    total.dropped += c.dropped;
    total.duplicates += c.duplicates;
  }
  std::partial_sum(ptr.begin(), ptr.end(), ptr.begin());
  ItemFeatures features;
  if (!options.item_attributes.empty()) {
    std::vector<std::uint32_t> items;
    std::vector<std::string> values;
    for (auto& c : counts) {
      items.insert(items.end(), c.attr_items.begin(), c.attr_items.end());
      values.insert(values.end(), std::make_move_iterator(c.attr_values.begin()),
                    std::make_move_iterator(c.attr_values.end()));
    }
    ECPS_ASSIGN_OR_RETURN(features, BuildItemFeatures(counts.front().attr_columns, items, values,
                                                      n_items, options.numeric_bands,
                                                      state->item_ids, options.item_attributes));
    node.log().info("{}: {} items with attributes, {} features", options.item_attributes,
                    features.items_with_attributes, features.names.size());
  }
  if (!options.item_text.empty()) {
    ECPS_ASSIGN_OR_RETURN(features, BuildContentWithText(node, options, counts, state->item_ids,
                                                         std::move(features)));
  }
  if (ptr.back() == 0) {
    return DataError(
        fmt::format("{}: no training interactions left after the split", options.train));
  }
  auto offsets = MatrixOffsets(ptr, counts);
  for (std::size_t w = 0; w < workers.size(); ++w) {
    Layout l;
    l.n_users = state->n_users;
    l.n_items = n_items;
    l.ptr = ptr;
    l.item_count = item_count;
    l.features = features;
    l.offsets = std::move(offsets[w]);
    ECPS_RETURN_IF_ERROR(node.SendControl(workers[w], kTopicLayout, ps::EncodeControl(l)));
  }
  state->nnz = ptr.back();
  state->ptr = std::move(ptr);
  state->item_count = std::move(item_count);
  state->features = std::move(features);
  return total;
}

// Logs the NeighborListBytes estimate; warns above half this machine's memory, refuses
// above all of it when every rank runs in this process.
Status CheckNeighborMemory(ps::Node& node, const CfOptions& options, const Settings& settings,
                           const RankState& state, int workers) {
  const std::uint32_t n_entities = state.n_entities(options.item_based());
  const std::uint64_t k = settings.sim.k;
  const std::uint64_t bytes = NeighborListBytes(
      n_entities, HasContent(options) ? state.n_items : 0, k,
      workers, DefaultBlockSize(n_entities, workers, options.block_size));
  const std::uint64_t memory = PhysicalMemoryBytes();
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  const std::string figure =
      fmt::format("the neighbour lists (--neighbors {} for {} {}) need about {:.1f} GiB", k,
                  n_entities, options.item_based() ? "items" : "users", bytes / kGiB);
  if (memory > 0 && bytes > memory && options.single_process) {
    return InvalidArgument(
        fmt::format("{}, more than this machine's {:.1f} GiB: use a smaller --neighbors", figure,
                    memory / kGiB));
  }
  if (memory > 0 && bytes > memory / 2) {
    node.log().warn("{} of this machine's {:.1f} GiB during the similarity phase{}", figure,
                    memory / kGiB, options.single_process ? "" : " (all ranks together)");
  } else {
    node.log().info("{} during the similarity phase", figure);
  }
  return Status::Ok();
}

}  // namespace

Result<sched::ShardPlan> IngestJob::MakePlan(const ps::RoleTable& roles) {
  std::vector<std::string> files{options_.train};
  if (!options_.item_attributes.empty()) files.push_back(options_.item_attributes);
  if (!options_.item_text.empty()) files.push_back(options_.item_text);
  return sched::PlanFiles(files, roles.num_workers());
}

Status IngestJob::RunWorker(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  const auto& ranges = ctx.plan.file_ranges[static_cast<std::size_t>(node.index())];
  LocalRows local;
  ProgressSender progress(node, kTopicIngestProgress, (ranges[0].end - ranges[0].begin) / 64 + 1);
  ECPS_RETURN_IF_ERROR(ReadInteractions(ranges[0], settings_, options_.skip_bad_rows,
                                        options_.ids.get(), &progress, &local));
  local.report.rows = local.rows.size();
  // A private run: the catalogue's items are the model's, whether or not anyone read them.
  if (settings_.catalogue && node.index() == 0) {
    for (const auto& id : settings_.catalogue->ids) local.items.Intern(id);
  }
  // Item attributes: their items join the id mapping (an item may have attributes only).
  AttributeRows attrs;
  std::vector<std::uint32_t> attr_local;
  if (!options_.item_attributes.empty()) {
    ECPS_RETURN_IF_ERROR(ReadAttributes(ranges[1], options_.attribute_id_column, &attrs));
    for (const auto& id : attrs.item_ids) attr_local.push_back(local.items.Intern(id));
    attrs.item_ids.clear();
  }
  AttributeRows text;  // likewise item text
  std::vector<std::uint32_t> text_local;
  if (!options_.item_text.empty()) {
    ECPS_RETURN_IF_ERROR(ReadItemText(ranges.back(), options_.text_id_column,
                                      options_.text_columns, &text));
    for (const auto& id : text.item_ids) text_local.push_back(local.items.Intern(id));
    text.item_ids.clear();
  }
  ECPS_ASSIGN_OR_RETURN(const GlobalIndex global, ExchangeIds(node, &local));

  ECPS_RETURN_IF_ERROR(ShuffleByUser(ctx, local.users, global, &local.rows));
  CountReport counts;
  counts.attr_columns = std::move(attrs.columns);
  for (auto l : attr_local) counts.attr_items.push_back(global.item[l]);
  counts.attr_values = std::move(attrs.values);
  for (auto l : text_local) counts.text_items.push_back(global.item[l]);
  counts.text_values = std::move(text.values);
  GroupAndSplit(local.rows, global.n_users, settings_.split, options_.recency_decay < 1.0,
                &state_->own, &counts);
  local.rows = Rows{};
  ReleaseFreeMemory();

  // Entity counts -> scheduler; the matrix layout back.
  CountEntries(state_->own, global.n_items, options_.item_based(), &counts);
  ECPS_RETURN_IF_ERROR(
      ps::Gather(node, kTopicCounts, ps::WorkerRanks(node.roles()), counts, node.DefaultDeadline())
          .status());
  ECPS_ASSIGN_OR_RETURN(
      ps::Message lm,
      node.RecvControl(kTopicLayout, ps::RoleTable::kSchedulerRank, node.DefaultDeadline()));
  Layout layout;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(lm.control, &layout));
  state_->n_users = layout.n_users;
  state_->n_items = layout.n_items;
  state_->ptr = std::move(layout.ptr);
  state_->nnz = state_->ptr.back();
  state_->item_count = std::move(layout.item_count);
  state_->features = std::move(layout.features);
  state_->entities = std::move(counts.entities);
  state_->offsets = std::move(layout.offsets);
  return options_.checkpoint.writes() ? SendIngestPart(node, *state_) : Status::Ok();
}

Status SendSizes(sched::JobContext& ctx, const RankState& state) {
  Sizes sizes{state.n_users, state.n_items, state.nnz};
  return ps::Broadcast(ctx.node, kTopicSizes, ps::ServerRanks(ctx.node.roles()), &sizes,
                       ctx.node.DefaultDeadline());
}

Status ReceiveSizes(sched::JobContext& ctx, RankState* state) {
  Sizes sizes;
  ECPS_RETURN_IF_ERROR(ps::Broadcast(ctx.node, kTopicSizes, ps::ServerRanks(ctx.node.roles()),
                                     &sizes, ctx.node.DefaultDeadline()));
  state->n_users = sizes.n_users;
  state->n_items = sizes.n_items;
  state->nnz = sizes.nnz;
  return Status::Ok();
}

Status IngestJob::FinishScheduler(sched::JobContext& ctx) {
  state_->ingest_traffic = ctx.node.job_traffic();
  return SendSizes(ctx, *state_);
}

Status IngestJob::FinishServer(sched::JobContext& ctx) { return ReceiveSizes(ctx, state_.get()); }

Status IngestJob::RunScheduler(sched::JobContext& ctx) {
  ps::Node& node = ctx.node;
  ECPS_ASSIGN_OR_RETURN(CfCheckpoints* const checkpoints,
                        CfCheckpoints::Of(options_, state_.get()));
  std::uint64_t bytes = 0;
  for (const auto& ranges : ctx.plan.file_ranges) bytes += ranges[0].end - ranges[0].begin;
  const std::string label =
      fmt::format("{} reading {}, bytes", options_.kind_name(), options_.train);
  ECPS_RETURN_IF_ERROR(ShowWorkerProgress(node, kTopicIngestProgress, label, bytes, options_));
  ECPS_ASSIGN_OR_RETURN(const FileSummary file, AssignIds(node, options_.train, state_.get()));
  ECPS_ASSIGN_OR_RETURN(const CountReport total, LayOutMatrix(node, options_, state_.get()));
  state_->data = {{"file", options_.train},
                  {"format", settings_.format.Describe()},
                  {"column_roles", settings_.format.roles},
                  {"feedback", settings_.explicit_ratings ? "explicit" : "implicit"},
                  {"rows", file.rows},
                  {"bad_rows_skipped", file.skipped},
                  {"bad_row_examples", file.examples},
                  {"duplicate_pairs", total.duplicates},
                  {"users", state_->n_users},
                  {"items", state_->n_items},
                  {"train_interactions", state_->nnz},
                  {"evaluated_users", total.evaluated_users},
                  {"held_out_targets", total.targets},
                  {"dropped_test_items", total.dropped}};
  if (options_.ids) {
    state_->data["excluded_rows"] = file.excluded_rows;
    state_->data["excluded_users"] = file.excluded_users.size();
    state_->data["pseudonymized"] = options_.ids->pseudonymizes();
    if (file.excluded_rows > 0) {
      node.log().info("{}: {} row(s) of {} opted-out user(s) dropped", options_.train,
                      file.excluded_rows, file.excluded_users.size());
    }
  }
  for (const auto& role : settings_.format.roles) node.log().info("{}: {}", options_.train, role);
  node.log().info(
      "{}: {} rows ({}), {} users, {} items, {} training interactions, {} users to evaluate",
      options_.train, file.rows, settings_.format.Describe(), state_->n_users, state_->n_items,
      state_->nnz, total.evaluated_users);
  if (checkpoints != nullptr) ECPS_RETURN_IF_ERROR(checkpoints->AfterIngest(node, *state_));
  return CheckNeighborMemory(node, options_, settings_, *state_, node.roles().num_workers());
}

}  // namespace ecps::models::cf
