// MPI transport: one rank per process, over Open MPI with MPI_THREAD_MULTIPLE.
//
// Send posts non-blocking MPI_Isend calls straight from the message's buffers (no packing
// copy) and keeps the message alive until MPI reports completion. Recv is driven by the
// node's dispatcher thread: it probes with MPI_Improbe and, while idle, sleeps for a fiftieth
// of the time it has been idle (capped), so a waiting rank does not burn a core (Open MPI's
// blocking calls would).
#pragma once

#include <memory>

#include <mpi.h>

#include "ps/transport.h"

namespace ecps::ps {

struct MpiTransportOptions {
  /// Longest sleep between probes while idle, in microseconds: bounds both the latency added
  /// to the first message after a long silence and the wake-ups of an idle rank.
  int max_idle_sleep_us = 2000;
  /// How long the parts of a message whose header has arrived may take to follow before the
  /// sender is declared lost, in seconds.
  double part_timeout_s = 60.0;
};

/// `comm` must come from an MPI library initialised with MPI_THREAD_MULTIPLE (launch/ does
/// it); the transport duplicates it and leaves the duplicate to MPI_Finalize (never reused by
/// a later transport of the process: late messages of one job cannot reach the next).
Result<std::unique_ptr<Transport>> MakeMpiTransport(MPI_Comm comm, MpiTransportOptions options = {});

}  // namespace ecps::ps
