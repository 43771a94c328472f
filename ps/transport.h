// The transport interface: moves Messages between the ranks of one job.
//
// One backend per file: inproc_transport.h (threads of one process; single-node mode and
// tests), mpi_transport.h (Open MPI ranks under mpirun or srun) and faulty_transport.h (a
// decorator that injects failures for tests). Two places above ps/ name a backend: launch/,
// which picks MPI for a run under a launcher, and scheduler/local_cluster (single-node mode),
// whose job is to run every rank as a thread over the in-process one (wrapped in the faulty
// one where a test asks for failures). Jobs, models and the scheduler see only Transport.
#pragma once

#include <functional>

#include "ps/message.h"
#include "ps/status.h"
#include "ps/traffic.h"
#include "ps/types.h"

namespace ecps::ps {

class Transport {
 public:
  virtual ~Transport() = default;

  /// This endpoint's rank and the number of ranks in the job.
  virtual Rank rank() const = 0;
  virtual int size() const = 0;

  /// Queues `msg` for msg.head.receiver and returns without waiting for delivery.
  /// Thread-safe. Messages from one sender to one receiver arrive in the order sent.
  /// Borrowed blobs must stay valid until the receiver's reply has arrived; messages that get
  /// no reply (acks, heartbeats, control) must own their blobs. Fails with kInvalidArgument
  /// for a bad receiver and kAborted after Close().
  virtual Status Send(Message msg) = 0;

  /// Waits for the next message from any sender until `deadline`; kTimeout when none came.
  /// Called from one thread only (the node's dispatcher); never spins a core while idle.
  virtual Result<Message> Recv(Deadline deadline) = 0;

  /// Takes messages for `sink` on the sending thread instead of queueing them for Recv, where
  /// the backend can (the in-process one does; the default ignores the sink). `sink` returns
  /// false for a message it does not take, which then goes through Recv as usual; it runs
  /// concurrently with the dispatcher, must not block and must not send. Setting it to null
  /// returns once no call of the old sink is running.
  using DirectSink = std::function<bool(Message&)>;
  virtual void SetDirectSink(DirectSink sink) { (void)sink; }

  /// What this endpoint has sent and received so far (ps/traffic.h). Thread-safe.
  virtual RankTraffic Traffic() const = 0;

  /// Stops accepting sends and wakes a pending Recv. Waits (bounded) for queued sends to
  /// leave this process. Idempotent.
  virtual void Close() = 0;
};

}  // namespace ecps::ps
