// How a command runs its job: as threads of this process (--local, or when started without
// a launcher) or as one rank of an MPI job (mpirun / srun), with roles from the rank.
// The only code that reads the environment (launcher variables) and calls MPI_Init.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/common.h>

#include "launch/log_options.h"
#include "ps/consistency.h"
#include "ps/logging.h"
#include "ps/node.h"
#include "scheduler/job.h"

namespace ecps::launch {

/// Options every distributed command takes (and the logging options every command takes).
struct ClusterOptions : LogOptions {
  /// Run every role as a thread of this process (single-node mode).
  bool local = false;
  /// Servers (both modes). Under mpirun the workers are the remaining ranks.
  int servers = 1;
  /// Workers in single-node mode.
  int workers = 2;
  /// --consistency (bsp, ssp or asp).
  ps::Consistency::Mode consistency = ps::Consistency::Mode::kBsp;
  /// --staleness: the bound s under ssp.
  int staleness = 2;
  /// --threads: compute threads of each worker; 0 = this machine's cores shared out among
  /// the workers of this process.
  int threads = 0;
  double heartbeat_interval_s = 1.0;
  double heartbeat_timeout_s = 10.0;
  /// Deadline of a single push/pull/barrier inside a phase.
  double request_timeout_s = 600.0;

  Status Validate() const;
  /// Whether the job runs in this process alone (every role a thread: --local, or no MPI
  /// launcher detected) rather than as one rank of an MPI job.
  bool RunsLocally() const;
  /// Workers in this process: `workers` when it runs locally, else 1 (one rank, one role).
  int WorkersInThisProcess() const { return RunsLocally() ? workers : 1; }
  /// Compute threads of each worker: `threads`, or the cores divided among
  /// WorkersInThisProcess() (at least 1).
  int ThreadsPerWorker() const;
  ps::NodeOptions ToNodeOptions() const;
  /// The consistency the options select.
  ps::Consistency Consistency() const;
};

/// Adds --local, --servers, --workers, --threads, --consistency, --staleness, --heartbeat-*,
/// --request-timeout, --log-level and --quiet to `app`. --consistency offers the modes of
/// `accepted` only (a job's NeededConsistency()).
void AddClusterOptions(CLI::App& app, ClusterOptions& options,
                       const sched::ConsistencyNeed& accepted = {});


/// Where this process is: under an MPI launcher (mpirun, or srun --mpi=pmix) or not.
bool UnderMpiLauncher();

/// Runs the job in the mode the options and environment select. `make_job(rank)` builds the
/// job for a rank (once per rank in single-node mode; once per process under MPI). On rank 0
/// (or in single-node mode) `on_scheduler` sees the scheduler's job after a successful run.
/// Returns this process's result.
Status RunCluster(const ClusterOptions& options, const sched::JobFactory& make_job,
                  const std::function<Status(sched::Job&)>& on_scheduler = {});

/// Runs `run`, a command that writes the output folder `dir` (none when empty), so that the
/// folder never holds half a run: the outputs are staged (util::StagedOutput) by the
/// process that writes them (this one, or rank 0 of an MPI job) and appear in `dir` only
/// when `run` succeeds; a failure or an interrupt leaves `dir` as it was (and no folder when
/// there was none). A second run on the same `dir` is refused (exit 2). SIGINT/SIGTERM stop
/// the run at its next safe point (launch/interrupt.h); a signal that arrives before the
/// outputs are published cancels them. With `cluster` set, the command is a training on
/// those cluster options: under an MPI launcher every rank calls this, and every rank learns
/// whether rank 0 could take the folder. With `cluster` null (e.g. generate), only this
/// process is involved. An exception from `run` becomes an Internal error (exit 1).
Status RunWritingOutput(const ClusterOptions* cluster, const std::string& dir,
                        const std::function<Status()>& run);

/// The cluster and logging options given explicitly on `app`'s command line, as arguments
/// ("--workers=3", ...), for passing on to other commands (the pipeline's stages).
std::vector<std::string> GivenClusterArgs(const CLI::App& app);

/// How long processes that are in step (before and after a job) wait for each other in
/// AgreeAcrossProcesses: far above the skew of a loaded machine, far below "forever".
inline constexpr double kInStepAgreeTimeoutS = 120.0;

/// Under MPI: every process contributes its status and learns whether any process failed.
/// The processes agree on the lowest failing code (a cause such as kDataError ranks below the
/// kAborted/kPeerLost it causes elsewhere), so that every process exits with the same code: a
/// process that succeeded gets that code with "another rank failed in this step"; one that
/// failed with kAborted or kPeerLost keeps its message under that code; any other failure is
/// returned as it was. In single-node mode: returns `mine`. Every process must call it the
/// same number of times. A process that has not heard from every other one within
/// `timeout_s` (none: wait as long as it takes) returns kPeerLost: a process stopped
/// between jobs, where no heartbeat watches it.
Status AgreeAcrossProcesses(const Status& mine,
                            std::optional<double> timeout_s = kInStepAgreeTimeoutS);

/// Under MPI: rank 0's `value` on every process (collective: every process calls it once,
/// in step). In single-node mode: `value`.
std::optional<std::uint64_t> FromRank0(std::optional<std::uint64_t> value);

/// Under an MPI launcher, initialises MPI (once) so that the rank is known before any job
/// runs; a no-op otherwise.
Status JoinMpiIfLaunched();


/// True in the process that should print results (single-node mode, or MPI rank 0).
bool IsPrintingProcess();

/// Finalizes MPI if it was initialised; call before returning from main on success.
void FinalizeMpi();

}  // namespace ecps::launch
