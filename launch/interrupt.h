// SIGINT and SIGTERM: a run that writes outputs stops at its next safe point instead of dying
// in the middle of a file.
//
// StartSignalWatcher() blocks both signals in the calling thread before any other thread
// exists, so every thread inherits the block, and starts one thread that takes them with
// sigwait (nothing runs in signal-handler context). What a signal does depends on whether an
// InterruptibleScope is open:
//   - none open (parsing, predict, segment, ...): the temporary files of the outputs being
//     written are removed (util::RemoveUnfinishedFiles), then the signal's default action
//     ends the process, as without the watcher;
//   - one open (a training, generate, the pipeline): the signal is recorded, and the code in
//     the scope polls InterruptStatus() at its safe points (every rank's heartbeat thread
//     turns it into a job abort within ~100 ms: sched::RunOptions::interrupt);
//   - a second signal while the first is being handled: the default action at once.
// SIGUSR1 (Slurm's `--signal=B:USR1@<seconds>`, forwarded by launch/slurm/train.sbatch) asks
// a training to write a checkpoint after its current clock and stop
// (models::RequestCheckpointAndStop; exit code 75), also when it comes before the training
// started; commands without checkpoints ignore it (it no longer ends the process).
// SIGHUP is watched too: while a HangupScope is open (ecps serve: reload the models) it is
// counted for HangupsReceived(); otherwise its default action ends the process as before.
#pragma once

#include <cstdint>

#include "ps/status.h"

namespace ecps::launch {

/// Call first in main, before any thread starts. Idempotent.
void StartSignalWatcher();

/// While alive, SIGINT/SIGTERM are recorded for InterruptStatus() instead of ending the
/// process. Scopes nest.
class InterruptibleScope {
 public:
  InterruptibleScope();
  ~InterruptibleScope();
  InterruptibleScope(const InterruptibleScope&) = delete;
  InterruptibleScope& operator=(const InterruptibleScope&) = delete;
};

/// While alive, SIGHUP is counted for HangupsReceived() instead of ending the process.
class HangupScope {
 public:
  HangupScope();
  ~HangupScope();
  HangupScope(const HangupScope&) = delete;
  HangupScope& operator=(const HangupScope&) = delete;
};

/// SIGHUPs received in a HangupScope since the process started.
std::uint64_t HangupsReceived();

/// The signal recorded in a scope (SIGINT or SIGTERM), or 0.
int CaughtSignal();

/// OK, or kInterrupted "interrupted by SIGTERM" once a signal was recorded.
Status InterruptStatus();

/// The status of an interrupt by `signo`: kInterrupted, "interrupted by SIGINT".
Status InterruptedBy(int signo);

/// The exit code of a process whose command ended with `s`: 128 + the signal for an
/// interrupt (130 SIGINT, 143 SIGTERM, as shells report a process killed by it), taken from
/// this process's own signal, or else from the signal `s` names (an interrupt that reached
/// this rank as a job abort from another rank); 75 for a stop after a requested checkpoint
/// (models::IsCheckpointStop). 0 when there is no interrupt.
int InterruptExitCode(const Status& s);

}  // namespace ecps::launch
