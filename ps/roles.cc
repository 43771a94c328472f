#include "ps/roles.h"

#include <fmt/format.h>

namespace ecps::ps {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kScheduler: return "scheduler";
    case Role::kServer: return "server";
    case Role::kWorker: return "worker";
  }
  return "?";
}

Result<RoleTable> RoleTable::Make(int num_servers, int num_workers) {
  if (num_servers < 1) return InvalidArgument(fmt::format("--servers must be >= 1, got {}", num_servers));
  if (num_workers < 1) return InvalidArgument(fmt::format("--workers must be >= 1, got {}", num_workers));
  return RoleTable(num_servers, num_workers);
}

Result<RoleTable> RoleTable::FromWorldSize(int world_size, int num_servers) {
  int workers = world_size - 1 - num_servers;
  if (num_servers < 1 || workers < 1) {
    return InvalidArgument(fmt::format(
        "{} ranks cannot hold 1 scheduler, {} server(s) and at least 1 worker; start at least {} "
        "ranks (mpirun -np, or Slurm tasks) or lower --servers",
        world_size, num_servers, num_servers + 2));
  }
  return RoleTable(num_servers, workers);
}

Role RoleTable::RoleOf(Rank r) const {
  if (r == kSchedulerRank) return Role::kScheduler;
  if (r <= num_servers_) return Role::kServer;
  return Role::kWorker;
}

int RoleTable::IndexOf(Rank r) const {
  switch (RoleOf(r)) {
    case Role::kScheduler: return -1;
    case Role::kServer: return r - 1;
    case Role::kWorker: return r - 1 - num_servers_;
  }
  return -1;
}

std::string RoleTable::Describe(Rank r) const {
  if (r == kSchedulerRank) return "rank 0 (scheduler)";
  return fmt::format("rank {} ({} {})", r, RoleName(RoleOf(r)), IndexOf(r));
}

}  // namespace ecps::ps
