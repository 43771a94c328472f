#include "models/lr/lr_checkpoint.h"

#include <fmt/format.h>

#include "models/lr/lr_job.h"
#include "ps/collective.h"
#include "ps/table_shard.h"
#include "util/files.h"

namespace ecps::models::lr {
namespace {
constexpr std::uint32_t kPartVersion = 1;
constexpr const char* kJob = "lr";
constexpr const char* kSchedulerPart = "scheduler.bin";
constexpr const char* kSchedulerKind = "lr-ckpt-s";
constexpr const char* kWorkerKind = "lr-ckpt-w";
constexpr const char* kServerKind = "lr-ckpt-p";

std::string PartName(const char* role, int index) { return fmt::format("{}-{}.bin", role, index); }

// A request to a server: its shard at `clock`, or (end) no more requests.
struct ShardRequest {
  bool end = false;
  std::uint64_t clock = 0;
  template <class A>
  void serialize(A& ar) { ar(end, clock); }
};

// What a resumed or warm-started server loads: its range of the saved shards, the clock to
// resume at (resume only), and the clocks of a warm start's earlier training (SGD's step).
struct ShardLoad {
  bool resume = true;
  std::uint64_t clock = 0;
  std::uint64_t clock_offset = 0;
  ps::TableShard<float> shard;
  template <class A>
  void serialize(A& ar) { ar(resume, clock, clock_offset, shard); }
};

template <class T>
Result<T> ReadPart(const FoundCheckpoint& found, const std::string& name, const char* kind) {
  ECPS_ASSIGN_OR_RETURN(const std::string bytes, ReadCheckpointPart(found, name, kind, kPartVersion));
  T value;
  ECPS_RETURN_IF_ERROR(
      ps::DecodeControl(ps::Blob::FromString(bytes), &value).WithContext(found.folder + "/" + name));
  return value;
}

std::string Text(const ps::Blob& b) { return std::string(b.View()); }

// Waits for a control message that may be long in coming (a clock's work, the data's
// loading): retries on the deadline while the job runs.
Result<ps::Message> AwaitControl(ps::Node& node, std::uint32_t topic, ps::Rank from) {
  auto got = node.RecvControl(topic, from, node.DefaultDeadline());
  while (!got.ok() && got.status().code() == StatusCode::kTimeout && !node.aborted()) {
    got = node.RecvControl(topic, from, node.DefaultDeadline());
  }
  return got;
}
}  // namespace

nlohmann::json CheckpointConfig(const LrOptions& o, const std::string& consistency) {
  const auto& p = o.parser;
  const auto& u = o.update;
  nlohmann::json config = {{"--train", o.train},
          {"--test", o.test},
          {"--holdout", o.holdout},
          {"--format", worker::DataFormatName(p.format)},
          {"--hash-bits", p.hash_bits},
          {"--no-bias", !p.bias},
          {"--label-column", p.label_column},
          {"--numeric-columns", p.numeric_columns},
          {"--categorical-columns", p.categorical_columns},
          {"--ignore-columns", p.ignore_columns},
          {"--delimiter", std::string(1, p.delimiter)},
          {"--skip-bad-rows", o.skip_bad_rows},
          {"--featindex", o.featindex},
          {"--algorithm", AlgorithmName(u.algorithm)},
          {"--epochs", o.epochs},
          {"--batch-size", o.batch_size},
          {"--alpha", u.alpha},
          {"--beta", u.beta},
          {"--l1", u.l1},
          {"--l2", u.l2},
          {"--learning-rate", u.learning_rate},
          {"--lr-decay", u.lr_decay},
          {"--no-standardize", !o.standardize},
          {"--no-log-transform", !o.log_transform},
          {"--seed", o.seed},
          {"--threshold", o.threshold},
          {"--export-weights", WeightExportName(o.export_weights)},
          {"--encrypt-key", o.encrypt != nullptr},
          {"--consistency", consistency}};
  // Only when given: checkpoints made before the option existed still resume.
  if (!o.init_model.empty()) config["--init-model"] = o.init_model;
  if (o.impute != ImputeMode::kNone) config["--impute"] = ImputeModeName(o.impute);
  return config;
}

bool CheckpointSchedule::Due(std::uint64_t clock) {
  if (!options_.writes() || clock >= last_clock_) return false;
  // A checkpoint-and-stop request (SIGUSR1) makes this clock due; the scheduler then stops.
  const bool due = CheckpointAndStopRequested() ||
                   (options_.every_seconds > 0 ? since_.Seconds() >= options_.every_seconds
                                               : clock % static_cast<std::uint64_t>(options_.every) == 0);
  if (due) since_.Restart();
  return due;
}

// ---- Scheduler -------------------------------------------------------------------------

Status SchedulerCheckpoints::Start(spdlog::logger& log) {
  const CheckpointOptions& c = options_.checkpoint;
  if (c.writes()) {
    ECPS_ASSIGN_OR_RETURN(lock_, util::OutputLock::Acquire(c.dir));
  }
  if (!c.resume) return Status::Ok();
  ECPS_ASSIGN_OR_RETURN(FoundCheckpoint found, FindNewestCheckpoint(c.ResumeFrom(), kJob, log));
  ECPS_ASSIGN_OR_RETURN(SchedulerPart part, ReadPart<SchedulerPart>(found, kSchedulerPart, kSchedulerKind));
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(part.config);
  } catch (const std::exception& e) {
    return DataError(fmt::format("{}/{}: bad options ({})", found.folder, kSchedulerPart, e.what()));
  }
  const nlohmann::json now = CheckpointConfig(options_, consistency_);
  for (const auto& [key, value] : now.items()) {
    const auto it = saved.find(key);
    if (it != saved.end() && *it == value) continue;
    return InvalidArgument(fmt::format(
        "--resume: checkpoint {} was made with {} {}; this run has {} {} (a resumed run may "
        "change only --out, --servers, --threads, --progress-interval and the checkpoint options)",
        found.folder, key, it == saved.end() ? "nothing" : util::DumpJson(*it), key,
        util::DumpJson(value)));
  }
  for (const auto& [key, value] : saved.items()) {  // e.g. --init-model, written only when given
    if (now.contains(key)) continue;
    return InvalidArgument(fmt::format("--resume: checkpoint {} was made with {} {}; this run has none",
                                       found.folder, key, util::DumpJson(value)));
  }
  if (part.workers != workers_) {
    return InvalidArgument(fmt::format(
        "--resume: checkpoint {} was made with {} workers; this run has {} (each worker sums the "
        "gradient of its rows of a mini-batch before the servers add the workers' sums, so "
        "another worker count changes the float additions and the model; resume with --workers {})",
        found.folder, part.workers, workers_, part.workers));
  }
  log.info("lr: resuming from {} (after clock {}, epoch {})", found.folder, part.clock,
           part.progress.finished + 1);
  resumed_ = std::make_unique<Loaded>(Loaded{std::move(found), std::move(part)});
  return Status::Ok();
}

Status SchedulerCheckpoints::LoadServers(ps::Node& node, const SetupReport& data,
                                         std::uint32_t num_batches, std::uint64_t clock_offset) {
  const SchedulerPart& p = resumed_->part;
  if (p.train_rows != data.train_rows || p.train_nnz != data.nnz || p.eval_rows != data.test_rows ||
      p.num_batches != num_batches) {
    return DataError(fmt::format(
        "--resume: the data has {} training rows ({} non-zeros) and {} evaluation rows in {} "
        "batches; the checkpoint's run had {} ({}), {} in {} (the data files changed)",
        data.train_rows, data.nnz, data.test_rows, num_batches, p.train_rows, p.train_nnz,
        p.eval_rows, p.num_batches));
  }
  std::vector<ps::TableShard<float>> saved;
  for (int j = 0;; ++j) {
    const std::string name = PartName("server", j);
    const auto& parts = resumed_->found.manifest.parts;
    if (std::none_of(parts.begin(), parts.end(), [&](const auto& e) { return e.name == name; })) break;
    ECPS_ASSIGN_OR_RETURN(auto shard, ReadPart<ps::TableShard<float>>(resumed_->found, name, kServerKind));
    saved.push_back(std::move(shard));
  }
  return LoadServerShards(node, saved, true, p.clock, clock_offset, "checkpoint " + resumed_->found.folder);
}

Status LoadServerShards(ps::Node& node, const std::vector<ps::TableShard<float>>& saved, bool resume,
                        std::uint64_t clock, std::uint64_t clock_offset, const std::string& source) {
  const auto servers = ps::ServerRanks(node.roles());
  std::uint64_t num_keys = 0;
  for (const auto& s : saved) num_keys = std::max<std::uint64_t>(num_keys, s.end);
  const ps::RangePartition split(num_keys, static_cast<int>(servers.size()));
  for (std::size_t j = 0; j < servers.size(); ++j) {
    ShardLoad load{resume, clock, clock_offset, {}};
    auto slice = ps::SliceShards(saved, split.RangeOf(static_cast<int>(j)));
    if (!slice.ok()) return slice.status().WithContext(source);
    load.shard = std::move(slice).value();
    ECPS_RETURN_IF_ERROR(node.SendControl(servers[j], kCkptShardTopic, ps::EncodeControl(load)));
  }
  for (ps::Rank s : servers) {
    ECPS_ASSIGN_OR_RETURN(const ps::Message ack, AwaitControl(node, kCkptShardTopic, s));
    if (ack.control.size() == 0) continue;  // loaded
    return ps::DecodeStatus(ack.control, Internal("unreadable answer"))
        .WithContext(fmt::format("{} loading its shard", node.roles().Describe(s)));
  }
  return Status::Ok();
}

Status SchedulerCheckpoints::SendPositions(ps::Node& node) {
  const auto workers = ps::WorkerRanks(node.roles());
  for (std::size_t i = 0; i < workers.size(); ++i) {
    ECPS_ASSIGN_OR_RETURN(const ProgressMsg pos, ReadPart<ProgressMsg>(resumed_->found,
                                                                       PartName("worker", static_cast<int>(i)), kWorkerKind));
    ECPS_RETURN_IF_ERROR(node.SendControl(workers[i], kResumeTopic, ps::EncodeControl(pos)));
  }
  return Status::Ok();
}

Status SchedulerCheckpoints::OnProgress(ps::Node& node, ps::Rank from, const ProgressMsg& m,
                                        const SchedulerProgress& progress, const SetupReport& data,
                                        std::uint32_t num_batches) {
  if (!m.checkpoint) return Status::Ok();
  parts_[node.roles().IndexOf(from)] = m;
  if (static_cast<int>(parts_.size()) < workers_) return Status::Ok();
  const ps::Stopwatch took;
  const std::uint64_t clock = parts_.begin()->second.clock;
  for (const auto& [w, part] : parts_) {
    if (part.clock != clock) {
      return Internal(fmt::format("checkpoint: worker {} is at clock {}, worker 0 at {}", w, part.clock, clock));
    }
  }
  // The servers' shards at this clock; then the workers go on while the files are written.
  const auto servers = ps::ServerRanks(node.roles());
  for (ps::Rank s : servers) {
    ECPS_RETURN_IF_ERROR(node.SendControl(s, kCkptAskTopic, ps::EncodeControl(ShardRequest{false, clock})));
  }
  for (ps::Rank s : servers) {
    ECPS_RETURN_IF_ERROR(node.RecvControl(kCkptReadyTopic, s, node.DefaultDeadline()).status());
  }
  // On a checkpoint-and-stop request (the signal reaches every rank) the workers wait for the
  // job's end instead of going on.
  const bool stop = CheckpointAndStopRequested();
  if (!stop) {
    for (ps::Rank w : ps::WorkerRanks(node.roles())) ECPS_RETURN_IF_ERROR(node.SendControl(w, kCkptGoTopic, {}));
  }
  wait_seconds_ += took.Seconds();
  std::vector<ps::Blob> shards;
  for (ps::Rank s : servers) {
    ECPS_ASSIGN_OR_RETURN(ps::Message got, node.RecvControl(kCkptShardTopic, s, node.DefaultDeadline()));
    shards.push_back(std::move(got.control));
  }

  SchedulerPart mine{clock, workers_, util::DumpJson(CheckpointConfig(options_, consistency_)),
                     data.train_rows, data.nnz, data.test_rows, num_batches, progress};
  CheckpointWriter writer(options_.checkpoint.dir, kJob, options_.checkpoint.keep);
  ECPS_RETURN_IF_ERROR(writer.Begin(clock));
  ECPS_RETURN_IF_ERROR(writer.AddPart(kSchedulerPart, kSchedulerKind, kPartVersion, Text(ps::EncodeControl(mine))));
  for (const auto& [w, part] : parts_) {
    ECPS_RETURN_IF_ERROR(
        writer.AddPart(PartName("worker", w), kWorkerKind, kPartVersion, Text(ps::EncodeControl(part))));
  }
  for (std::size_t j = 0; j < shards.size(); ++j) {
    ECPS_RETURN_IF_ERROR(writer.AddPart(PartName("server", static_cast<int>(j)), kServerKind, kPartVersion,
                                        Text(shards[j])));
  }
  ECPS_RETURN_IF_ERROR(writer.Commit());
  parts_.clear();
  last_bytes_ = writer.bytes();
  seconds_ += took.Seconds();
  ++written_;
  if (!stop) return Status::Ok();
  const std::string folder = CheckpointFolder(options_.checkpoint.dir, clock);
  node.log().info("lr: checkpoint {} written on request after clock {}: stopping", folder, clock);
  return CheckpointStopped(folder);
}

Status SchedulerCheckpoints::End(ps::Node& node) {
  if (!options_.checkpoint.writes()) return Status::Ok();
  for (ps::Rank s : ps::ServerRanks(node.roles())) {
    ECPS_RETURN_IF_ERROR(node.SendControl(s, kCkptAskTopic, ps::EncodeControl(ShardRequest{true, 0})));
  }
  return Status::Ok();
}

nlohmann::json SchedulerCheckpoints::Json() const {
  return {{"written", written_},
          {"seconds", seconds_},
          {"wait_seconds", wait_seconds_},
          {"last_bytes", last_bytes_},
          {"resumed_from", resumed_ ? resumed_->found.folder : std::string()}};
}

// ---- Server ----------------------------------------------------------------------------

Status ServeCheckpoints(const LrOptions& options, ps::Node& node, ps::KVServer& server,
                        MiniBatchFinalizer& finalizer) {
  constexpr ps::Rank kScheduler = ps::RoleTable::kSchedulerRank;
  if (options.checkpoint.resume || !options.init_model.empty()) {
    ECPS_ASSIGN_OR_RETURN(const ps::Message got, AwaitControl(node, kCkptShardTopic, kScheduler));
    ShardLoad load;
    Status s = ps::DecodeControl(got.control, &load);
    if (s.ok()) s = server.LoadShard(load.shard);
    if (s.ok() && load.resume) server.ResumeAt(static_cast<ps::Clock>(load.clock));
    finalizer.set_clock_offset(load.clock_offset);
    ECPS_RETURN_IF_ERROR(node.SendControl(kScheduler, kCkptShardTopic, s.ok() ? ps::Blob() : ps::EncodeStatus(s)));
    ECPS_RETURN_IF_ERROR(s);
  }
  if (!options.checkpoint.writes()) return Status::Ok();
  while (true) {
    ECPS_ASSIGN_OR_RETURN(const ps::Message got, AwaitControl(node, kCkptAskTopic, kScheduler));
    ShardRequest ask;
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(got.control, &ask));
    if (ask.end) return Status::Ok();
    ECPS_RETURN_IF_ERROR(server.WaitForClock(static_cast<ps::Clock>(ask.clock), node.DefaultDeadline()));
    ECPS_ASSIGN_OR_RETURN(const auto shard, server.SaveShard<float>(kWeights));
    // A copy: the workers may go on while it is encoded and sent.
    ECPS_RETURN_IF_ERROR(node.SendControl(kScheduler, kCkptReadyTopic, {}));
    ECPS_RETURN_IF_ERROR(node.SendControl(kScheduler, kCkptShardTopic, ps::EncodeControl(shard)));
  }
}

// ---- Worker ----------------------------------------------------------------------------

WorkerCheckpoints::WorkerCheckpoints(const LrOptions& options, ps::Node& node, ps::KVClient& kv,
                                     std::uint32_t chunks, std::uint64_t last_clock)
    : options_(options), node_(node), kv_(kv), chunks_(chunks), schedule_(options.checkpoint, last_clock) {}

Result<ProgressMsg> WorkerCheckpoints::Resume(bool resume) {
  ProgressMsg pos;
  if (!resume) return pos;
  ECPS_ASSIGN_OR_RETURN(const ps::Message got,
                        node_.RecvControl(kResumeTopic, ps::RoleTable::kSchedulerRank, node_.DefaultDeadline()));
  ECPS_RETURN_IF_ERROR(ps::DecodeControl(got.control, &pos));
  if (pos.chunks != chunks_) {
    return FailedPrecondition(fmt::format(
        "--resume: this machine sums a worker's gradient in {} chunks (one per hardware thread), "
        "the checkpoint's in {}: the float additions and the model would differ; resume on "
        "machines with {} hardware threads",
        chunks_, pos.chunks, pos.chunks));
  }
  kv_.ResumeAt(static_cast<ps::Clock>(pos.clock));
  return pos;
}

Status WorkerCheckpoints::AfterClock(const ProgressMsg& msg, std::uint32_t step) {
  if (!options_.checkpoint.writes()) return Status::Ok();
  const auto workers = ps::WorkerRanks(node_.roles());
  const auto clock = static_cast<std::uint64_t>(kv_.clock());
  bool due = false;
  if (node_.index() == 0) {
    due = schedule_.Due(clock);
    for (std::size_t i = 1; i < workers.size(); ++i) {
      ECPS_RETURN_IF_ERROR(node_.SendControl(workers[i], kCkptDueTopic, ps::EncodeControl(due)));
    }
  } else {
    ECPS_ASSIGN_OR_RETURN(const ps::Message got, AwaitControl(node_, kCkptDueTopic, workers[0]));
    ECPS_RETURN_IF_ERROR(ps::DecodeControl(got.control, &due));
  }
  if (!due) return Status::Ok();
  ProgressMsg part = msg;
  part.checkpoint = true;
  part.clock = clock;
  part.step = step;
  part.chunks = chunks_;
  ECPS_RETURN_IF_ERROR(node_.SendControl(ps::RoleTable::kSchedulerRank, kProgressTopic, ps::EncodeControl(part)));
  return AwaitControl(node_, kCkptGoTopic, ps::RoleTable::kSchedulerRank).status();
}

}  // namespace ecps::models::lr
