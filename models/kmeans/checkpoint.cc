#include "models/kmeans/checkpoint.h"

#include <fmt/format.h>

#include <cereal/archives/binary.hpp>
#include <sstream>

#include "models/common/checkpoint.h"
#include "ps/bounded_archive.h"
#include "ps/collective.h"
#include "ps/stopwatch.h"

namespace ecps::models::kmeans {
namespace {
constexpr std::uint32_t kPartVersion = 2;  // 2: PhaseReport::stop
constexpr const char* kSchedulerPart = "scheduler.bin";
constexpr const char* kSchedulerKind = "kmeans-ckpt-s";
constexpr const char* kWorkerKind = "kmeans-ckpt-w";

std::string WorkerPartName(int worker) { return fmt::format("worker-{}.bin", worker); }

}  // namespace

nlohmann::json CheckpointConfig(const KMeansOptions& o) {
  nlohmann::json c = {{"--data", o.data},
          {"--id-column", o.columns.id_column},
          {"--features", o.columns.features},
          {"--one-hot", o.columns.one_hot},
          {"--ordinal", o.columns.ordinal},
          {"--label-column", o.columns.label_column},
          {"--skip-bad-rows", o.skip_bad_rows},
          {"--k", o.k},
          {"--normalize", NormalizeName(o.normalize)},
          {"--init", o.init == InitMethod::kFile ? o.init_file : InitMethodName(o.init)},
          {"--init-steps", o.init_steps},
          {"--oversampling", o.oversampling},
          {"--max-iter", o.max_iter},
          {"--tol", o.tol},
          {"--seed", o.seed},
          {"--anomaly-scores", o.anomaly_scores},
          {"--anomaly-rate", o.anomaly_rate},
          {"--score", RiskScoreName(o.score)},
          {"--silhouette-sample", o.silhouette_sample},
          {"--pseudonymize-key", o.ids != nullptr && o.ids->pseudonymizes()},
          {"--mask-columns", o.mask_columns},
          {"--encrypt-key", o.encrypt != nullptr}};
  if (o.impute != Impute::kNone) c["--impute"] = ImputeName(o.impute);  // absent in older ones
  return c;
}

Result<ResumePoint> LoadCheckpoint(const KMeansOptions& options, spdlog::logger& log) {
  ECPS_ASSIGN_OR_RETURN(const FoundCheckpoint found,
                        FindNewestCheckpoint(options.checkpoint.ResumeFrom(), "kmeans", log));
  ResumePoint point;
  point.folder = found.folder;
  ECPS_ASSIGN_OR_RETURN(std::string s,
                        ReadCheckpointPart(found, kSchedulerPart, kSchedulerKind, kPartVersion));
  ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(s, found.folder + "/" + kSchedulerPart, &point.scheduler));
  ECPS_ASSIGN_OR_RETURN(std::string w,
                        ReadCheckpointPart(found, WorkerPartName(0), kWorkerKind, kPartVersion));
  ECPS_RETURN_IF_ERROR(DecodeCheckpointPart(w, found.folder + "/" + WorkerPartName(0), &point.worker0));

  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(point.scheduler.config);
  } catch (const std::exception& e) {
    return DataError(
        fmt::format("{}/{}: bad options ({})", found.folder, kSchedulerPart, e.what()));
  }
  const nlohmann::json now = CheckpointConfig(options);
  for (const auto& [key, value] : now.items()) {
    const auto it = saved.find(key);
    const std::string was = it == saved.end() ? "nothing" : util::DumpJson(*it);
    if (it != saved.end() && *it == value) continue;
    return InvalidArgument(fmt::format(
        "--resume: checkpoint {} was made with {} {}; this run has {} {} (a resumed run may "
        "change only --out, --workers, --servers, --threads and the checkpoint options)",
        found.folder, key, was, key, util::DumpJson(value)));
  }
  if (point.worker0.iteration != point.scheduler.iteration ||
      point.worker0.centroids.size() != options.k * point.worker0.normalizer.scale.size()) {
    return DataError(fmt::format("checkpoint {}: its parts do not fit together", found.folder));
  }
  return point;
}

Result<std::uint64_t> SaveCheckpoint(const KMeansOptions& options, ps::Node& node, int iteration,
                                     const std::vector<PhaseReport>& reports) {
  const auto workers = ps::WorkerRanks(node.roles());
  ECPS_ASSIGN_OR_RETURN(const auto parts, ps::Gather(node, kCheckpointTopic, workers,
                                                     WorkerCheckpoint{}, node.DefaultDeadline()));
  SchedulerCheckpoint mine{iteration, static_cast<int>(workers.size()),
                           util::DumpJson(CheckpointConfig(options)), reports};
  CheckpointWriter writer(options.checkpoint.dir, "kmeans", options.checkpoint.keep);
  ECPS_RETURN_IF_ERROR(writer.Begin(static_cast<std::uint64_t>(iteration)));
  ECPS_RETURN_IF_ERROR(writer.AddPart(kSchedulerPart, kSchedulerKind, kPartVersion, EncodeCheckpointPart(mine)));
  for (const auto& part : parts) {
    if (part.iteration != iteration) {
      return Internal(fmt::format("worker {} sent the checkpoint of iteration {} at iteration {}",
                                  part.worker, part.iteration, iteration));
    }
    ECPS_RETURN_IF_ERROR(
        writer.AddPart(WorkerPartName(part.worker), kWorkerKind, kPartVersion, EncodeCheckpointPart(part)));
  }
  ECPS_RETURN_IF_ERROR(writer.Commit());
  return writer.bytes();
}

Result<std::vector<PhaseReport>> SchedulerCheckpoints::Start(const KMeansOptions& options,
                                                             ps::Node& node) {
  if (options.checkpoint.writes()) {
    ECPS_ASSIGN_OR_RETURN(lock_, util::OutputLock::Acquire(options.checkpoint.dir));
  }
  if (!options.checkpoint.resume) return std::vector<PhaseReport>{};
  ECPS_ASSIGN_OR_RETURN(ResumePoint point, LoadCheckpoint(options, node.log()));
  ECPS_RETURN_IF_ERROR(ps::Broadcast(node, kResumeTopic, ps::WorkerRanks(node.roles()),
                                     &point.worker0, node.DefaultDeadline()));
  node.log().info("kmeans: resuming from {} (after iteration {})", point.folder,
                  point.scheduler.iteration);
  resumed_from_ = point.folder;
  return point.scheduler.reports;
}

Status SchedulerCheckpoints::AfterIteration(const KMeansOptions& options, ps::Node& node,
                                            const std::vector<PhaseReport>& reports) {
  if (reports.empty() || !reports.back().checkpoint) return Status::Ok();
  const ps::Stopwatch took;
  const int iteration = reports.back().iteration;
  ECPS_ASSIGN_OR_RETURN(last_bytes_, SaveCheckpoint(options, node, iteration, reports));
  seconds_ += took.Seconds();
  ++written_;
  if (!reports.back().stop) return Status::Ok();
  const std::string folder = CheckpointFolder(options.checkpoint.dir, iteration);
  node.log().info("kmeans: checkpoint {} written on request after iteration {}: stopping",
                  folder, iteration);
  return CheckpointStopped(folder);
}

nlohmann::json SchedulerCheckpoints::Json() const {
  return {{"written", written_},
          {"seconds", seconds_},
          {"last_bytes", last_bytes_},
          {"resumed_from", resumed_from_}};
}

Status CheckResumedData(const WorkerCheckpoint& saved, std::uint64_t total_users,
                        const Normalizer& normalizer) {
  if (saved.total_users != total_users) {
    return DataError(fmt::format("--resume: the data has {} users, the checkpoint's run had {}",
                                 total_users, saved.total_users));
  }
  if (saved.normalizer.kind != normalizer.kind || saved.normalizer.shift != normalizer.shift ||
      saved.normalizer.scale != normalizer.scale) {
    return DataError(
        "--resume: the data's column statistics differ from the checkpoint's run "
        "(the data file changed)");
  }
  return Status::Ok();
}

nlohmann::json IterationLine(const PhaseReport& r) {
  return {{"iteration", r.iteration}, {"inertia", r.inertia},     {"centroid_shift", r.shift},
          {"changed", r.changed},     {"relocated", r.relocated}, {"seconds", r.seconds}};
}

}  // namespace ecps::models::kmeans
