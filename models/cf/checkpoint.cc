#include "models/cf/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cereal/archives/binary.hpp>
#include <filesystem>
#include <numeric>
#include <sstream>
#include <thread>

#include "models/cf/ingest_job.h"
#include "models/cf/layout.h"
#include "models/cf/messages.h"
#include "models/cf/topk.h"
#include "models/common/checkpoint.h"
#include "ps/bounded_archive.h"
#include "util/files.h"

namespace ecps::models::cf {
namespace {

// 2: item features with weights (item text); 3: the scheduler part names the worker count,
// the similarity blocks and the merged tasks (resume with another --workers).
constexpr std::uint32_t kPartVersion = 3;
constexpr const char* kSchedulerPart = "scheduler.bin";
constexpr const char* kIngestPart = "ingest.bin";
constexpr const char* kSchedulerKind = "cf-ckpt-s";
constexpr const char* kIngestKind = "cf-ckpt-i";
constexpr const char* kWorkerKind = "cf-ckpt-w";
constexpr const char* kSliceKind = "cf-ckpt-n";

std::string WorkerPartName(std::size_t i) { return fmt::format("worker-{}.bin", i); }
std::string SlicePartName(std::size_t j) { return fmt::format("neighbors-{}.bin", j); }

/// ingest.bin.
struct IngestPart {
  std::uint32_t n_users = 0, n_items = 0;
  std::uint64_t nnz = 0;
  std::vector<std::uint64_t> ptr;
  std::vector<std::uint32_t> item_count;
  ItemFeatures features;
  std::vector<std::string> user_ids, item_ids;
  std::string data;  // JSON text
  template <class A>
  void serialize(A& ar) {
    ar(n_users, n_items, nnz, ptr, item_count, features, user_ids, item_ids, data);
  }
};

/// scheduler.bin.
struct SchedulerPart {
  std::uint64_t clock = 0;
  std::string config;  // CheckpointConfig as JSON text
  std::uint32_t workers = 0;
  std::vector<std::uint64_t> bounds;  // the similarity blocks; empty at clock 1
  std::vector<std::uint8_t> done;     // per task (TaskIndex): merged
  std::uint64_t pairs = 0;
  template <class A>
  void serialize(A& ar) {
    ar(clock, config, workers, bounds, done, pairs);
  }
};

// The index of block task (i, j), i <= j, among the tasks of `blocks` blocks in row-major order.
std::size_t TaskIndex(std::uint32_t i, std::uint32_t j, std::size_t blocks) {
  return i * blocks - static_cast<std::size_t>(i) * (i - 1) / 2 + (j - i);
}

/// Rows of a neighbour table without their empty slots: each row's count, then the ids and
/// scores of all rows.
struct CompactRows {
  std::vector<std::uint32_t> counts, ids;
  std::vector<double> scores;
  template <class A>
  void serialize(A& ar) {
    ar(counts, ids, scores);
  }
};

/// neighbors-<j>.bin, and a worker's answer to a request: rows [begin, end).
struct Slice {
  std::uint64_t clock = 0;
  std::uint32_t begin = 0, end = 0;
  CompactRows rows, content;  // content: empty without item attributes
  template <class A>
  void serialize(A& ar) {
    ar(clock, begin, end, rows, content);
  }
};

// Appends rows of 2k doubles to `c`.
void Compact(std::span<const double> dense, std::size_t k, std::vector<Neighbor>* row,
             CompactRows* c) {
  for (std::size_t at = 0; at < dense.size(); at += 2 * k) {
    row->clear();
    c->counts.push_back(static_cast<std::uint32_t>(DecodeRow(dense.data() + at, k, row)));
    for (const Neighbor& n : *row) {
      c->ids.push_back(n.id);
      c->scores.push_back(n.score);
    }
  }
}

// `rows` rows of 2k doubles; DataError when `c` does not hold that many rows of k at most.
Result<std::vector<double>> Expand(const CompactRows& c, std::size_t rows, std::size_t k) {
  if (c.counts.size() != rows || c.ids.size() != c.scores.size()) {
    return DataError("resume: a saved neighbour slice does not fit its rows");
  }
  std::vector<double> dense(rows * 2 * k);
  std::vector<Neighbor> row;
  std::size_t at = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    if (c.counts[r] > k || at + c.counts[r] > c.ids.size()) {
      return DataError("resume: a saved neighbour slice does not fit its rows");
    }
    row.clear();
    for (std::uint32_t i = 0; i < c.counts[r]; ++i, ++at) row.push_back({c.ids[at], c.scores[at]});
    EncodeRow(row, k, dense.data() + r * 2 * k);
  }
  return dense;
}

/// Scheduler -> worker (kTopicCheckpoint): pull rows [begin, end) for `clock`, or go on.
struct Request {
  std::uint64_t clock = 0;
  std::uint32_t begin = 0, end = 0;
  bool go_on = false;
  template <class A>
  void serialize(A& ar) {
    ar(clock, begin, end, go_on);
  }
};

/// Scheduler -> worker of a resumed run: the encoded parts it needs.
struct Resumed {
  std::string ingest, worker;
  std::vector<std::string> slices;  // none at clock 1
  std::uint64_t pairs = 0;
  template <class A>
  void serialize(A& ar) {
    ar(ingest, worker, slices, pairs);
  }
};


// The part's bytes, checked and decoded into `value` (when not null).
template <class T>
Result<std::string> ReadPart(const FoundCheckpoint& found, const std::string& name,
                             const char* kind, T* value) {
  ECPS_ASSIGN_OR_RETURN(std::string bytes, ReadCheckpointPart(found, name, kind, kPartVersion));
  if (value != nullptr) ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(bytes, found.folder + "/" + name, value));
  return bytes;
}

std::uint64_t FileBytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

// Rows [begin, end) of a neighbour table (2k doubles each) pushed from `rows`, in chunks of
// about kChunk values.
Status PushRows(ps::KVClient& kv, ps::TableId table, std::uint32_t begin, std::uint32_t end,
                std::size_t k, const std::vector<double>& rows, ps::Deadline deadline) {
  const std::size_t width = 2 * k;
  const std::uint32_t step = static_cast<std::uint32_t>(std::max<std::size_t>(1, kChunk / width));
  for (std::uint32_t b = begin; b < end; b += std::min(step, end - b)) {
    const std::uint32_t e = b + std::min(step, end - b);
    std::span<const double> part(rows.data() + static_cast<std::size_t>(b - begin) * width,
                                 static_cast<std::size_t>(e - b) * width);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PushRange<double>(table, b, e, part), deadline),
                             "resume: push saved neighbour rows");
  }
  return Status::Ok();
}

// Rows [begin, end) of a neighbour table pulled chunk by chunk (about kChunk values each) and
// compacted: the dense rows are never held whole.
Result<CompactRows> PullCompact(ps::KVClient& kv, ps::TableId table, std::uint32_t begin,
                                std::uint32_t end, std::size_t k, ps::Deadline deadline) {
  const std::size_t width = 2 * k;
  const std::uint32_t step = static_cast<std::uint32_t>(std::max<std::size_t>(1, kChunk / width));
  std::vector<double> dense(static_cast<std::size_t>(std::min(step, end - begin)) * width);
  std::vector<Neighbor> row;
  CompactRows c;
  c.counts.reserve(end - begin);
  for (std::uint32_t b = begin; b < end; b += std::min(step, end - b)) {
    const std::uint32_t e = b + std::min(step, end - b);
    std::span<double> part(dense.data(), static_cast<std::size_t>(e - b) * width);
    ECPS_RETURN_IF_ERROR_CTX(kv.Wait(kv.PullRange<double>(table, b, e, part), deadline),
                             "checkpoint: pull neighbour rows");
    Compact(part, k, &row, &c);
  }
  return c;
}

}  // namespace

nlohmann::json CheckpointConfig(const CfOptions& o) {
  auto text = [](std::string_view spelling) { return std::string(spelling); };
  return {{"train", o.kind_name()},
          {"--train", o.train},
          {"the size of --train", FileBytes(o.train)},
          {"--header", text(SpellingOf(kHeaderModes, o.header))},
          {"--feedback", text(SpellingOf(kFeedbacks, o.feedback))},
          {"--skip-bad-rows", o.skip_bad_rows},
          {"--similarity", text(SpellingOf(kMeasures, o.similarity))},
          {"--neighbors", o.neighbors},
          {"-n", o.top_n},
          {"--shrinkage", o.shrinkage},
          {"--min-support", o.min_support},
          {"--block-size", o.block_size},
          {"--scoring", text(SpellingOf(kScorings, o.scoring))},
          {"--recency-decay", o.recency_decay},
          {"--item-attributes", o.item_attributes},
          {"the size of --item-attributes",
           o.item_attributes.empty() ? 0 : FileBytes(o.item_attributes)},
          {"--attribute-id-column", o.attribute_id_column},
          {"--cold-threshold", o.cold_threshold},
          {"--content-blend", o.content_blend},
          {"--item-text", o.item_text},
          {"the size of --item-text", o.item_text.empty() ? 0 : FileBytes(o.item_text)},
          {"--text-id-column", o.text_id_column},
          {"--text-columns", o.text_columns},
          {"--text-weight", o.text_weight},
          {"--text-stop-words", o.text_stop_words},
          {"--numeric-bands", o.numeric_bands},
          {"--no-fill-popular", !o.fill_popular},
          {"--split", text(SpellingOf(kSplitKinds, o.split))},
          {"--evaluate-on", text(SpellingOf(kEvalTargets, o.evaluate_on))},
          {"--holdout-fraction", o.holdout_fraction},
          {"--min-user-interactions", o.min_user_interactions},
          {"--metrics-k", o.metrics_k},
          {"--sampled-negatives", o.sampled_negatives},
          {"--seed", o.seed},
          {"--no-model", !o.save_model},
          {"--no-neighbors", !o.write_neighbors},
          {"--pseudonymize-key", o.ids != nullptr && o.ids->pseudonymizes()},
          {"opted-out users", o.ids != nullptr}};
}

Result<CfCheckpoints*> CfCheckpoints::Of(const CfOptions& options, RankState* state) {
  if (!options.checkpoint.writes() && !options.checkpoint.resume) return nullptr;
  if (!state->checkpoints) {
    auto ck = std::make_shared<CfCheckpoints>(options);
    if (options.checkpoint.writes()) {
      ECPS_ASSIGN_OR_RETURN(ck->lock_, util::OutputLock::Acquire(options.checkpoint.dir));
    }
    state->checkpoints = std::move(ck);
  }
  return state->checkpoints.get();
}

bool CfCheckpoints::Due(std::uint64_t clock, bool stage_end) const {
  const auto& c = options_.checkpoint;
  if (!c.writes()) return false;
  if (stage_end || StopRequested()) return true;
  if (c.every_seconds > 0) return since_last_.Seconds() >= c.every_seconds;
  return clock > 1 && (clock - 1) % static_cast<std::uint64_t>(c.every) == 0;
}

std::uint64_t CfCheckpoints::tasks_done() const {
  return static_cast<std::uint64_t>(std::count(done_.begin(), done_.end(), std::uint8_t{1}));
}

sched::ShardPlan CfCheckpoints::PlanTasks(int workers, std::uint64_t n, std::uint64_t block_size) {
  sched::ShardPlan p;
  p.num_workers = workers;
  p.file_ranges.resize(static_cast<std::size_t>(workers));
  if (bounds_.empty()) {
    sched::PlanBlocks(n, workers, block_size, &p);
    bounds_ = p.block_bounds;
    const std::size_t blocks = bounds_.size() - 1;
    done_.assign(blocks * (blocks + 1) / 2, 0);
  } else {
    p.block_bounds = bounds_;
    const auto blocks = static_cast<std::uint32_t>(bounds_.size() - 1);
    std::vector<sched::BlockTask> todo;
    for (std::uint32_t i = 0; i < blocks; ++i) {
      for (std::uint32_t j = i; j < blocks; ++j) {
        if (!done_[TaskIndex(i, j, blocks)]) todo.push_back({i, j});
      }
    }
    sched::AssignBlockTasks(todo, workers, &p);
  }
  tasks_ = p.block_tasks;
  taken_.assign(static_cast<std::size_t>(workers), 0);
  return p;
}

Status CfCheckpoints::AfterIngest(ps::Node& node, const RankState& state) {
  const int workers = node.roles().num_workers();
  worker_parts_.assign(static_cast<std::size_t>(workers), {});
  for (int w = 0; w < workers; ++w) {
    ECPS_ASSIGN_OR_RETURN(
        ps::Message m,
        node.RecvControl(kTopicIngestPart, node.roles().WorkerRank(w), node.DefaultDeadline()));
    worker_parts_[static_cast<std::size_t>(w)] = std::string(m.control.View());
  }
  IngestPart in{state.n_users,  state.n_items,    state.nnz,
                state.ptr,      state.item_count, state.features,
                state.user_ids, state.item_ids,   util::DumpJson(state.data)};
  ingest_part_ = EncodeCheckpointPart(in);
  if (!Due(1, true)) return Status::Ok();
  ECPS_RETURN_IF_ERROR(Write(node, 1, 0));
  return StopIfRequested(node, 1);
}

Status CfCheckpoints::AfterTask(ps::Node& node, int worker, std::uint64_t pairs, bool last,
                                std::uint32_t n) {
  auto& taken = taken_[static_cast<std::size_t>(worker)];
  const auto& mine = tasks_[static_cast<std::size_t>(worker)];
  if (taken >= mine.size()) {
    return Internal("checkpoints: a worker reported more tasks than planned");
  }
  const sched::BlockTask& task = mine[taken++];
  done_[TaskIndex(task.row_block, task.col_block, bounds_.size() - 1)] = 1;
  pairs_ += pairs;
  const std::uint64_t clock = 1 + tasks_done();
  if (!Due(clock, last)) return Status::Ok();
  ECPS_RETURN_IF_ERROR(Write(node, clock, n));
  return last ? Status::Ok() : StopIfRequested(node, clock);
}

bool CfCheckpoints::StopRequested() const {
  return options_.checkpoint.writes() && CheckpointAndStopRequested();
}

Status CfCheckpoints::StopIfRequested(ps::Node& node, std::uint64_t clock) {
  if (!StopRequested()) return Status::Ok();
  ECPS_RETURN_IF_ERROR(Finish());
  const std::string folder = CheckpointFolder(options_.checkpoint.dir, clock);
  node.log().info("{}: checkpoint {} written on request: stopping", options_.kind_name(), folder);
  return CheckpointStopped(folder);
}

Status CfCheckpoints::EndSimilarity(ps::Node& node) {
  if (!options_.checkpoint.writes()) return Status::Ok();
  for (int w = 0; w < node.roles().num_workers(); ++w) {
    Request go{0, 0, 0, true};
    ECPS_RETURN_IF_ERROR(
        node.SendControl(node.roles().WorkerRank(w), kTopicCheckpoint, ps::EncodeControl(go)));
  }
  return Status::Ok();
}

Status CfCheckpoints::Write(ps::Node& node, std::uint64_t clock, std::uint32_t n) {
  const ps::Stopwatch waited;
  since_last_.Restart();
  const auto workers = static_cast<std::size_t>(node.roles().num_workers());
  std::vector<std::string> slices;
  if (clock > 1) {  // every worker pulls its slice between two of its tasks
    for (std::size_t j = 0; j < workers; ++j) {
      Request r{clock, static_cast<std::uint32_t>(n * j / workers),
                static_cast<std::uint32_t>(n * (j + 1) / workers), false};
      ECPS_RETURN_IF_ERROR(node.SendControl(node.roles().WorkerRank(static_cast<int>(j)),
                                            kTopicCheckpoint, ps::EncodeControl(r)));
    }
    slices.resize(workers);
    for (std::size_t j = 0; j < workers; ++j) {
      ECPS_ASSIGN_OR_RETURN(
          ps::Message m,
          node.RecvControl(kTopicCheckpointPart, node.roles().WorkerRank(static_cast<int>(j)),
                           node.DefaultDeadline()));
      slices[j] = std::string(m.control.View());
    }
  }
  ECPS_RETURN_IF_ERROR(Finish());  // one checkpoint written at a time
  wait_s_ += waited.Seconds();
  const SchedulerPart mine{clock, util::DumpJson(CheckpointConfig(options_)),
                           static_cast<std::uint32_t>(workers), bounds_, done_, pairs_};
  // The parts are written beside the training; ingest_part_ and worker_parts_ do not change
  // after ingest (or the resume).
  writer_ = std::thread([this, clock, scheduler = EncodeCheckpointPart(mine), slices = std::move(slices)] {
    const ps::Stopwatch took;
    writer_status_ = [&]() -> Status {
      CheckpointWriter w(options_.checkpoint.dir, options_.kind_name(), options_.checkpoint.keep);
      ECPS_RETURN_IF_ERROR(w.Begin(clock));
      ECPS_RETURN_IF_ERROR(w.AddPart(kSchedulerPart, kSchedulerKind, kPartVersion, scheduler));
      ECPS_RETURN_IF_ERROR(w.AddPart(kIngestPart, kIngestKind, kPartVersion, ingest_part_));
      for (std::size_t i = 0; i < worker_parts_.size(); ++i) {
        ECPS_RETURN_IF_ERROR(
            w.AddPart(WorkerPartName(i), kWorkerKind, kPartVersion, worker_parts_[i]));
      }
      for (std::size_t j = 0; j < slices.size(); ++j) {
        ECPS_RETURN_IF_ERROR(w.AddPart(SlicePartName(j), kSliceKind, kPartVersion, slices[j]));
      }
      ECPS_RETURN_IF_ERROR(w.Commit());
      last_bytes_ = w.bytes();
      return Status::Ok();
    }();
    seconds_ += took.Seconds();
    if (writer_status_.ok()) ++written_;
  });
  return Status::Ok();
}

Status CfCheckpoints::Finish() {
  if (writer_.joinable()) writer_.join();
  return writer_status_;
}

CfCheckpoints::~CfCheckpoints() {
  if (writer_.joinable()) writer_.join();
}

Status CfCheckpoints::Resume(ps::Node& node, RankState* state) {
  ECPS_ASSIGN_OR_RETURN(
      const FoundCheckpoint found,
      FindNewestCheckpoint(options_.checkpoint.ResumeFrom(), options_.kind_name(), node.log()));
  SchedulerPart saved;
  ECPS_RETURN_IF_ERROR(ReadPart(found, kSchedulerPart, kSchedulerKind, &saved).status());
  nlohmann::json was;
  try {
    was = nlohmann::json::parse(saved.config);
  } catch (const std::exception& e) {
    return DataError(
        fmt::format("{}/{}: bad options ({})", found.folder, kSchedulerPart, e.what()));
  }
  const nlohmann::json now = CheckpointConfig(options_);
  for (const auto& [key, value] : now.items()) {
    const auto it = was.find(key);
    if (it != was.end() && *it == value) continue;
    return InvalidArgument(
        fmt::format("--resume: checkpoint {} was made with {} {}; this run has {} {} (a "
                    "resumed run may "
                    "change only --out, --servers, --threads and the checkpoint options)",
                    found.folder, key, it == was.end() ? "nothing" : util::DumpJson(*it), key,
                    util::DumpJson(value)));
  }
  const std::size_t blocks = saved.bounds.empty() ? 0 : saved.bounds.size() - 1;
  if (saved.workers == 0 || saved.clock != found.manifest.clock ||
      saved.done.size() != blocks * (blocks + 1) / 2 ||
      static_cast<std::uint64_t>(std::count(saved.done.begin(), saved.done.end(), 1)) + 1 !=
          saved.clock) {
    return DataError(fmt::format("checkpoint {}: its parts do not fit together", found.folder));
  }
  IngestPart in;
  ECPS_ASSIGN_OR_RETURN(ingest_part_, ReadPart(found, kIngestPart, kIngestKind, &in));
  state->n_users = in.n_users;
  state->n_items = in.n_items;
  state->nnz = in.nnz;
  state->ptr = std::move(in.ptr);
  state->item_count = std::move(in.item_count);
  state->features = std::move(in.features);
  state->user_ids = std::move(in.user_ids);
  state->item_ids = std::move(in.item_ids);
  try {
    state->data = nlohmann::json::parse(in.data);
  } catch (const std::exception& e) {
    return DataError(
        fmt::format("{}/{}: bad data section ({})", found.folder, kIngestPart, e.what()));
  }
  ECPS_ASSIGN_OR_RETURN(worker_parts_, WorkerParts(found, saved.workers, *state,
                                                   node.roles().num_workers(), node.log()));
  const std::size_t workers = worker_parts_.size();
  for (std::size_t i = 0; i < workers; ++i) {
    Resumed r{ingest_part_, worker_parts_[i], {}, i == 0 ? saved.pairs : 0};
    // The saved slices: rows [n j / W, n (j + 1) / W) of the W workers of the saved run.
    for (std::size_t j = i; saved.clock > 1 && j < saved.workers; j += workers) {
      ECPS_ASSIGN_OR_RETURN(r.slices.emplace_back(),
                            ReadPart<Slice>(found, SlicePartName(j), kSliceKind, nullptr));
    }
    ECPS_RETURN_IF_ERROR(node.SendControl(node.roles().WorkerRank(static_cast<int>(i)),
                                          kTopicResume, ps::EncodeControl(r)));
  }
  bounds_ = std::move(saved.bounds);
  done_ = std::move(saved.done);
  pairs_ = saved.pairs;
  resumed_from_ = found.folder;
  node.log().info("{}: resuming from {} ({} of the block tasks done)", options_.kind_name(),
                  found.folder, tasks_done());
  return Status::Ok();
}

Result<std::vector<std::string>> CfCheckpoints::WorkerParts(const FoundCheckpoint& found,
                                                           std::uint32_t saved_workers,
                                                           const RankState& state, int workers,
                                                           spdlog::logger& log) const {
  std::vector<std::string> parts(saved_workers);
  for (std::uint32_t i = 0; i < saved_workers; ++i) {
    ECPS_ASSIGN_OR_RETURN(parts[i],
                          ReadPart<WorkerShare>(found, WorkerPartName(i), kWorkerKind, nullptr));
  }
  if (static_cast<int>(saved_workers) == workers) return parts;
  // Another worker count: the users are dealt anew, as ingest would deal them.
  std::vector<OwnUsers> old(saved_workers);
  for (std::uint32_t i = 0; i < saved_workers; ++i) {
    WorkerShare share;
    ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(parts[i], found.folder + "/" + WorkerPartName(i),
                                              &share));
    parts[i].clear();
    old[i] = std::move(share.own);
  }
  auto shares = ReshareUsers(std::move(old), workers, state.user_ids, state.ptr, state.n_items,
                             options_.item_based());
  parts.assign(shares.size(), {});
  for (std::size_t i = 0; i < shares.size(); ++i) parts[i] = EncodeCheckpointPart(shares[i]);
  log.info("{}: checkpoint {} was made with {} workers; its users are dealt anew to {}",
           options_.kind_name(), found.folder, saved_workers, workers);
  return parts;
}

nlohmann::json CfCheckpoints::Json() const {
  return {{"written", written_},
          {"seconds", seconds_},
          {"wait_s", wait_s_},
          {"last_bytes", last_bytes_},
          {"resumed_from", resumed_from_}};
}

Status ResumeJob::RunScheduler(sched::JobContext& ctx) {
  ECPS_ASSIGN_OR_RETURN(CfCheckpoints* const checkpoints,
                        CfCheckpoints::Of(options_, state_.get()));
  return checkpoints->Resume(ctx.node, state_.get());
}

Status ResumeJob::RunWorker(sched::JobContext& ctx) {
  return ReceiveResume(ctx.node, state_.get());
}

Status ResumeJob::FinishScheduler(sched::JobContext& ctx) {
  state_->ingest_traffic = ctx.node.job_traffic();
  return SendSizes(ctx, *state_);
}

Status ResumeJob::FinishServer(sched::JobContext& ctx) { return ReceiveSizes(ctx, state_.get()); }

Status SendIngestPart(ps::Node& node, const RankState& state) {
  const WorkerShare part{state.own, state.entities, state.offsets};
  return node.SendControl(ps::RoleTable::kSchedulerRank, kTopicIngestPart,
                          ps::Blob::FromString(EncodeCheckpointPart(part)));
}

Status ReceiveResume(ps::Node& node, RankState* state) {
  ECPS_ASSIGN_OR_RETURN(ps::Message m, node.RecvControl(kTopicResume, ps::RoleTable::kSchedulerRank,
                                                        node.DefaultDeadline()));
  Resumed r;
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(m.control, &r));
  IngestPart in;
  ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(r.ingest, "resume: ingest part", &in));
  WorkerShare part;
  ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(r.worker, "resume: worker part", &part));
  state->n_users = in.n_users;
  state->n_items = in.n_items;
  state->nnz = in.nnz;
  state->ptr = std::move(in.ptr);
  state->item_count = std::move(in.item_count);
  state->features = std::move(in.features);
  state->own = std::move(part.own);
  state->entities = std::move(part.entities);
  state->offsets = std::move(part.offsets);
  state->resume_pairs = r.pairs;
  state->resume_slices = std::move(r.slices);
  return Status::Ok();
}

Status PushSavedRows(ps::KVClient& kv, RankState* state, std::size_t k, ps::Deadline deadline) {
  for (std::string& encoded : state->resume_slices) {
    Slice s;
    ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(encoded, "resume: neighbour slice", &s));
    encoded.clear();
    if (s.begin > s.end) return DataError("resume: a saved neighbour slice has no rows");
    const std::size_t rows = s.end - s.begin;
    if (rows == 0) continue;
    ECPS_ASSIGN_OR_RETURN(std::vector<double> dense, Expand(s.rows, rows, k));
    ECPS_RETURN_IF_ERROR(PushRows(kv, kNeighbors, s.begin, s.end, k, dense, deadline));
    if (s.content.counts.empty()) continue;
    ECPS_ASSIGN_OR_RETURN(dense, Expand(s.content, rows, k));
    ECPS_RETURN_IF_ERROR(PushRows(kv, kContent, s.begin, s.end, k, dense, deadline));
  }
  state->resume_slices.clear();
  return Status::Ok();
}

Result<bool> ServeCheckpointRequests(ps::Node& node, ps::KVClient& kv, std::size_t k,
                                     bool content, bool to_the_end) {
  for (;;) {
    auto m = node.RecvControl(kTopicCheckpoint, ps::RoleTable::kSchedulerRank,
                              to_the_end ? node.DefaultDeadline() : ps::SteadyClock::now());
    if (!m.ok()) {
      const bool none = !to_the_end && m.status().code() == StatusCode::kTimeout;
      if (none && !node.aborted()) return false;
      return m.status();
    }
    Request r;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(m->control, &r));
    if (r.go_on) return true;
    const ps::Stopwatch took;
    Slice s{r.clock, r.begin, r.end, {}, {}};
    ECPS_ASSIGN_OR_RETURN(s.rows,
                          PullCompact(kv, kNeighbors, r.begin, r.end, k, node.DefaultDeadline()));
    if (content) {
      ECPS_ASSIGN_OR_RETURN(
          s.content, PullCompact(kv, kContent, r.begin, r.end, k, node.DefaultDeadline()));
    }
    ECPS_RETURN_IF_ERROR(node.SendControl(ps::RoleTable::kSchedulerRank, kTopicCheckpointPart,
                                          ps::EncodeControl(s)));
    node.log().debug("checkpoint {}: rows [{}, {}) pulled and sent in {:.3f} s", r.clock, r.begin,
                     r.end, took.Seconds());
  }
}

}  // namespace ecps::models::cf
