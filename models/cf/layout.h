// Where each worker's training entries go in the entity-major matrix (cf.matrix), and how a
// resumed run with another number of workers deals the users of a checkpoint anew.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/cf/messages.h"
#include "models/cf/train_state.h"

namespace ecps::models::cf {

/// Fills the popularity (items, item_counts) and entity counts (entities, entity_counts) of
/// `report` from a worker's training rows.
void CountEntries(const OwnUsers& own, std::uint32_t n_items, bool item_based,
                  CountReport* report);

/// Per worker, the offsets in cf.matrix of its entities' entries (aligned with
/// counts[w].entities): within an entity, the workers' entries in worker order. `ptr`: the
/// entity-major offsets (n_entities + 1).
std::vector<std::vector<std::uint64_t>> MatrixOffsets(const std::vector<std::uint64_t>& ptr,
                                                      const std::vector<CountReport>& counts);

/// A worker's share after ingest: its users, its entities with training entries and where
/// their entries go in cf.matrix.
struct WorkerShare {
  OwnUsers own;
  std::vector<std::uint32_t> entities;
  std::vector<std::uint64_t> offsets;
  template <class A>
  void serialize(A& ar) {
    ar(own, entities, offsets);
  }
};

/// The users of `old` (every worker's OwnUsers of a run with old.size() workers) dealt to
/// `workers` workers as ingest deals them (ShardPlan::UserOwner of `user_ids`, users ascending
/// within a worker), with their entities and matrix offsets. `ptr`: the matrix layout, which
/// does not depend on the workers. The users' rows and splits do not change.
std::vector<WorkerShare> ReshareUsers(std::vector<OwnUsers> old, int workers,
                                      const std::vector<std::string>& user_ids,
                                      const std::vector<std::uint64_t>& ptr,
                                      std::uint32_t n_items, bool item_based);

}  // namespace ecps::models::cf
