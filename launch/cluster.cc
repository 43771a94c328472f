#include "launch/cluster.h"

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <thread>
#include <limits>
#include <map>

#include <mpi.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "launch/command.h"
#include "launch/interrupt.h"
#include "launch/startup_watchdog.h"
#include "ps/logging.h"
#include "ps/mpi_transport.h"
#include "scheduler/local_cluster.h"
#include "util/output_folder.h"

namespace ecps::launch {
namespace {

bool g_mpi_initialised = false;
int g_mpi_rank = 0;

const char* Env(const char* name) { return std::getenv(name); }  // NOLINT(concurrency-mt-unsafe)

Status InitMpi() {
  if (g_mpi_initialised) return Status::Ok();
  int provided = 0;
  {
    // Guards MPI's start-up and a first barrier: after it every task is known to MPI, and a
    // task that dies later is reported by PMIx or by the heartbeats.
    const StartupWatchdog watchdog(StartupTimeoutSeconds());
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
      return Internal("MPI_Init_thread failed");
    }
    g_mpi_initialised = true;
    MPI_Barrier(MPI_COMM_WORLD);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g_mpi_rank);
  if (provided < MPI_THREAD_MULTIPLE) {
    return FailedPrecondition(fmt::format(
        "this MPI library provides thread level {} but ecps needs MPI_THREAD_MULTIPLE ({})", provided,
        MPI_THREAD_MULTIPLE));
  }
  return Status::Ok();
}

}  // namespace

Status ClusterOptions::Validate() const {
  if (servers < 1) return InvalidArgument(fmt::format("--servers must be >= 1, got {}", servers));
  if (workers < 1) return InvalidArgument(fmt::format("--workers must be >= 1, got {}", workers));
  if (threads < 0) return InvalidArgument(fmt::format("--threads must be >= 0, got {}", threads));
  if (consistency == ps::Consistency::Mode::kSsp && staleness < 1) {
    return InvalidArgument(fmt::format("--staleness must be >= 1 with ssp, got {}", staleness));
  }
  // Written so that NaN fails too (the command line refuses it; callers in code might not).
  if (!(heartbeat_interval_s > 0 && heartbeat_timeout_s > 2 * heartbeat_interval_s &&
        heartbeat_timeout_s <= 1e6)) {
    return InvalidArgument(
        fmt::format("--heartbeat-timeout must exceed twice --heartbeat-interval (> 0), got {} "
                    "and {}",
                    heartbeat_timeout_s, heartbeat_interval_s));
  }
  if (!(request_timeout_s > 0 && request_timeout_s <= 1e6)) {
    return InvalidArgument(
        fmt::format("--request-timeout must be in (0, 1e6], got {}", request_timeout_s));
  }
  return ValidateLog();
}

ps::NodeOptions ClusterOptions::ToNodeOptions() const {
  ps::NodeOptions o;
  o.heartbeat_interval_s = heartbeat_interval_s;
  o.heartbeat_timeout_s = heartbeat_timeout_s;
  o.default_timeout_s = request_timeout_s;
  return o;
}

ps::Consistency ClusterOptions::Consistency() const {
  if (consistency == ps::Consistency::Mode::kSsp) return ps::Consistency::Ssp(staleness);
  return {consistency, 0};
}

void AddClusterOptions(CLI::App& app, ClusterOptions& o, const sched::ConsistencyNeed& accepted) {
  auto* g = app.add_option_group("Cluster", "Where and how the job runs");
  g->add_flag("--local", o.local,
              "Run every role as a thread of this process (single-node mode; no MPI needed). "
              "Also the mode used when ecps is started without mpirun or srun");
  g->add_option("--servers", o.servers, "Parameter servers (ranks 1..S under mpirun)")
      ->capture_default_str()->check(Positive());
  g->add_option("--workers", o.workers,
                "Workers in single-node mode (under mpirun: all ranks after the servers)")
      ->capture_default_str()->check(Positive());
  g->add_option("--threads", o.threads,
                "Compute threads of each worker (0: this machine's cores shared out among the "
                "workers of this process)")
      ->capture_default_str()->check(NonNegative());
  using Mode = ps::Consistency::Mode;
  std::vector<std::string> names;
  for (Mode m : accepted.modes) names.emplace_back(ps::Consistency::ModeName(m));
  const std::string help =
      accepted.modes.size() == 3
          ? "bsp: wait for every worker each clock; ssp: let workers run up to --staleness "
            "clocks ahead; asp: never wait"
          : fmt::format("{} only: {}", fmt::join(names, ", "), accepted.why);
  g->add_option_function<std::string>(
       "--consistency",
       [&o](const std::string& name) {
         for (Mode m : {Mode::kBsp, Mode::kSsp, Mode::kAsp}) {
           if (ps::Consistency::ModeName(m) == name) o.consistency = m;
         }
       },
       help)
      ->default_str(std::string(ps::Consistency::ModeName(o.consistency)))
      ->check(CLI::Validator(
          [names, why = accepted.why](const std::string& v) -> std::string {
            if (std::find(names.begin(), names.end(), v) != names.end()) return "";
            return fmt::format("{} is not one of {}{}", v, fmt::join(names, ", "),
                               why.empty() ? "" : " (" + why + ")");
          },
          "{" + fmt::format("{}", fmt::join(names, ",")) + "}"));
  // Accepted by every command, so that a pipeline can pass it to each stage.
  const bool ssp = std::find(names.begin(), names.end(), "ssp") != names.end();
  g->add_option("--staleness", o.staleness,
                ssp ? "Clocks a worker may run ahead under ssp" : "Not used (no ssp here)")
      ->capture_default_str()->check(NonNegative());
  g->add_option("--heartbeat-interval", o.heartbeat_interval_s, "Seconds between heartbeats")
      ->capture_default_str()->check(Seconds());
  g->add_option("--heartbeat-timeout", o.heartbeat_timeout_s,
                "Seconds of silence after which a rank is declared lost and the job stops "
                "(more than twice --heartbeat-interval)")
      ->capture_default_str()->check(Seconds());
  g->add_option("--request-timeout", o.request_timeout_s,
                "Seconds a single push, pull or control message may take")
      ->capture_default_str()->check(Seconds());
  AddLogOptions(app, o);
}

bool ClusterOptions::RunsLocally() const { return local || !UnderMpiLauncher(); }

int ClusterOptions::ThreadsPerWorker() const {
  if (threads > 0) return threads;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / WorkersInThisProcess());
}

bool UnderMpiLauncher() {
  return Env("OMPI_COMM_WORLD_SIZE") != nullptr || Env("PMIX_RANK") != nullptr ||
         Env("PMI_RANK") != nullptr;
}

std::vector<std::string> GivenClusterArgs(const CLI::App& app) {
  std::vector<std::string> out;
  for (const char* group : {"Cluster", "Logging"}) {
    const auto* g = app.get_option_group(group);
    if (g == nullptr) continue;
    for (const auto* opt : g->get_options()) {
      if (opt->count() == 0 || opt->get_lnames().empty()) continue;
      for (const auto& r : opt->results()) out.push_back(fmt::format("--{}={}", opt->get_lnames()[0], r));
    }
  }
  return out;
}

Status AgreeAcrossProcesses(const Status& mine, std::optional<double> timeout_s) {
  if (!g_mpi_initialised) return mine;
  // The lowest failing code wins: a cause (a data error, 2) ranks below its consequences
  // (the job's abort, 4), so every process exits with the cause's code whichever exits first.
  constexpr int kNone = std::numeric_limits<int>::max();
  const int code = mine.ok() ? kNone : static_cast<int>(mine.code());
  // buf = {code, lowest}: on the heap, because on a timeout the reduction stays posted and
  // MPI may still write into it; it is then kept (reachable) until the process exits.
  static auto* abandoned = new std::vector<int*>;  // never destroyed: used until exit
  auto* buf = new int[2]{code, kNone};
  MPI_Request request;
  MPI_Iallreduce(&buf[0], &buf[1], 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &request);
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::microseconds(50);
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) break;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (timeout_s && waited > *timeout_s) {
      abandoned->push_back(buf);
      return PeerLost(fmt::format(
          "no word from every other process within {:g} s after this step (one of them "
          "stopped?){}",
          *timeout_s, mine.ok() ? "" : "; this process failed: " + mine.ToString()));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
  const int lowest = buf[1];
  delete[] buf;
  if (lowest == kNone || lowest == code) return mine;
  const auto agreed = static_cast<StatusCode>(lowest);
  if (mine.ok()) {
    return Status(agreed, fmt::format("another rank failed in this step ({}; see its message)",
                                      StatusCodeName(agreed)));
  }
  if (mine.code() == StatusCode::kAborted || mine.code() == StatusCode::kPeerLost) {
    return Status(agreed, mine.message());  // this process failed because of the other one
  }
  return mine;
}

std::optional<std::uint64_t> FromRank0(std::optional<std::uint64_t> value) {
  if (!g_mpi_initialised) return value;
  std::uint64_t v[2] = {value.has_value() ? 1u : 0u, value.value_or(0)};
  MPI_Bcast(v, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  return v[0] ? std::optional<std::uint64_t>(v[1]) : std::nullopt;
}

Status JoinMpiIfLaunched() { return UnderMpiLauncher() ? InitMpi() : Status::Ok(); }

bool IsPrintingProcess() { return !g_mpi_initialised || g_mpi_rank == 0; }

void FinalizeMpi() {
  if (g_mpi_initialised) {
    MPI_Finalize();
    g_mpi_initialised = false;
  }
}

Status RunCluster(const ClusterOptions& options, const sched::JobFactory& make_job,
                  const std::function<Status(sched::Job&)>& on_scheduler) {
  ECPS_RETURN_IF_ERROR(options.Validate());
  ECPS_RETURN_IF_ERROR(InterruptStatus());
  ECPS_RETURN_IF_ERROR(ApplyLogOptions(options));
  auto sink = ps::ProcessSink();
  const char* ntasks = Env("SLURM_STEP_NUM_TASKS");  // set inside srun steps only
  if (!options.local && !UnderMpiLauncher() && ntasks && std::atoi(ntasks) > 1) {
    return FailedPrecondition(fmt::format(
        "started by srun as one of {} tasks without PMIx: every task would run a whole job of its own. "
        "Start ecps with `srun --mpi=pmix` (or pass --local to run each task alone on purpose)",
        ntasks));
  }
  if (options.RunsLocally()) {
    ECPS_ASSIGN_OR_RETURN(auto roles, ps::RoleTable::Make(options.servers, options.workers));
    sched::LocalClusterOptions lo;
    lo.run.interrupt = InterruptStatus;
    lo.run.consistency = options.Consistency();
    lo.run.worker_threads = options.ThreadsPerWorker();
    lo.node = options.ToNodeOptions();
    lo.log_level = options.Level();
    lo.sink = sink;
    std::shared_ptr<sched::Job> scheduler_job;
    ECPS_RETURN_IF_ERROR(sched::RunLocal(roles, lo, [&](ps::Rank r) {
      auto job = make_job(r);
      if (r == ps::RoleTable::kSchedulerRank) scheduler_job = job;  // kept for on_scheduler
      return job;
    }));
    if (on_scheduler && scheduler_job) return on_scheduler(*scheduler_job);
    return Status::Ok();
  }

  ECPS_RETURN_IF_ERROR(InitMpi());
  int size = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ECPS_ASSIGN_OR_RETURN(auto roles, ps::RoleTable::FromWorldSize(size, options.servers));
  if (const char* procid = Env("SLURM_PROCID"); procid && std::atoi(procid) != rank) {
    spdlog::warn("SLURM_PROCID={} differs from the MPI rank {}; using the MPI rank", procid, rank);
  }
  // A sender that stops in the middle of a message is as lost as a silent one.
  ps::MpiTransportOptions mpi;
  mpi.part_timeout_s = options.heartbeat_timeout_s;
  ECPS_ASSIGN_OR_RETURN(auto transport, ps::MakeMpiTransport(MPI_COMM_WORLD, mpi));
  ps::Node node(roles, std::move(transport), options.ToNodeOptions(),
                ps::MakeRankLogger(roles, rank, sink, options.Level()));
  auto job = make_job(rank);
  sched::RunOptions run;
  run.interrupt = [where = roles.Describe(rank)] { return InterruptStatus().WithContext(where); };
  run.consistency = options.Consistency();
  run.worker_threads = options.ThreadsPerWorker();
  ECPS_RETURN_IF_ERROR(sched::RunNode(node, *job, run));
  if (rank == 0 && on_scheduler) return on_scheduler(*job);
  return Status::Ok();
}

Status RunWritingOutput(const ClusterOptions* cluster, const std::string& dir,
                        const std::function<Status()>& run) {
  InterruptibleScope interruptible;
  const bool mpi_job = cluster != nullptr && !cluster->RunsLocally();
  if (mpi_job) ECPS_RETURN_IF_ERROR(InitMpi());
  std::unique_ptr<util::StagedOutput> staged;
  Status s = Status::Ok();
  if (!dir.empty() && (!mpi_job || g_mpi_rank == 0)) {
    auto begun = util::StagedOutput::Begin(dir);
    if (begun.ok()) {
      staged = std::move(begun).value();
    } else {
      s = begun.status();
    }
  }
  if (mpi_job) s = AgreeAcrossProcesses(s);
  if (s.ok()) s = InterruptStatus();
  if (s.ok()) {
    try {
      s = run();
    } catch (const std::exception& e) {  // a bug: report it; the staged outputs still go
      s = Internal(fmt::format("internal error: {}", e.what()));
    }
  }
  if (s.ok()) s = InterruptStatus();  // a signal before the outputs are in place cancels them
  if (s.ok() && staged) s = staged->Publish();
  return s;  // unpublished staged outputs are removed with `staged`
}

}  // namespace ecps::launch
