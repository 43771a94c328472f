// The role table: which rank is the scheduler, which are servers, which are workers.
//
// Rank 0 is the scheduler, ranks 1..S the servers, ranks S+1..S+W the workers. The same
// table describes an `mpirun -np 1+S+W` job and a single-node job of 1+S+W threads.
#pragma once

#include <string>
#include <vector>

#include "ps/status.h"
#include "ps/types.h"

namespace ecps::ps {

enum class Role { kScheduler, kServer, kWorker };

/// "scheduler", "server" or "worker".
const char* RoleName(Role role);

class RoleTable {
 public:
  /// Fails unless servers >= 1 and workers >= 1.
  static Result<RoleTable> Make(int num_servers, int num_workers);
  /// Derives the worker count from the total number of ranks (mpirun -np N): N-1-S workers.
  static Result<RoleTable> FromWorldSize(int world_size, int num_servers);

  int num_servers() const { return num_servers_; }
  int num_workers() const { return num_workers_; }
  int size() const { return 1 + num_servers_ + num_workers_; }

  static constexpr Rank kSchedulerRank = 0;
  Role RoleOf(Rank r) const;
  Rank ServerRank(int server_index) const { return 1 + server_index; }
  Rank WorkerRank(int worker_index) const { return 1 + num_servers_ + worker_index; }
  /// Index among the servers (0..S-1) or workers (0..W-1) of rank r; -1 for the scheduler.
  int IndexOf(Rank r) const;
  /// "rank 3 (worker 1)"; used in every message about a peer.
  std::string Describe(Rank r) const;

 private:
  RoleTable(int s, int w) : num_servers_(s), num_workers_(w) {}
  int num_servers_;
  int num_workers_;
};

}  // namespace ecps::ps
