// The shard plan: which worker reads which part of the data. Made once by the scheduler,
// sent to every rank and logged, so a run's data split can be read back from its log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "ps/status.h"

namespace ecps::sched {

/// Bytes [begin, end) of a file. A reader of this range reads exactly the lines that start
/// inside it (the line that straddles `begin` belongs to the previous range), so ranges that
/// tile a file give every line to exactly one reader.
struct FileRange {
  std::string path;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  template <class A>
  void serialize(A& ar) { ar(path, begin, end); }
};

/// Item x item (or user x user) similarity work: row block i against column block j of the
/// entity space split into `num_blocks` ranges; each (i, j) with i <= j is done once.
struct BlockTask {
  std::uint32_t row_block = 0;
  std::uint32_t col_block = 0;
  template <class A>
  void serialize(A& ar) { ar(row_block, col_block); }
};

struct ShardPlan {
  int num_workers = 0;
  /// Per worker: the byte ranges of the input files it reads.
  std::vector<std::vector<FileRange>> file_ranges;
  /// Users are owned by worker UserOwner(id): a hash of the id, the same on every rank.
  std::uint64_t user_hash_seed = 0x5eed;
  /// An all-pairs plan over an entity range (PlanBlocks): boundaries of the blocks
  /// (num_blocks + 1 values) and, per worker, its (row block, column block) tasks. Empty until
  /// a model that compares all pairs (CF similarity) asks for one.
  std::vector<std::uint64_t> block_bounds;
  std::vector<std::vector<BlockTask>> block_tasks;

  template <class A>
  void serialize(A& ar) {
    ar(num_workers, file_ranges, user_hash_seed, block_bounds, block_tasks);
  }

  /// The worker (0-based) that owns user `user_id`.
  int UserOwner(std::string_view user_id) const;
  /// Multi-line human-readable description for the log.
  std::string Describe() const;
};

/// Splits each file into `num_workers` byte ranges of near-equal size.
Result<ShardPlan> PlanFiles(const std::vector<std::string>& files, int num_workers);

/// Splits entities [0, n) into blocks and assigns the pairs (i <= j) to workers so that the
/// estimated work per worker is balanced (greedy, largest first; deterministic).
/// `block_size` = 0 picks about 2 * num_workers blocks.
void PlanBlocks(std::uint64_t n, int num_workers, std::uint64_t block_size, ShardPlan* plan);
/// Assigns the tasks `todo` of `plan`'s blocks (block_bounds set) to workers as PlanBlocks does
/// (replacing plan->block_tasks); a resumed run's remaining tasks.
void AssignBlockTasks(const std::vector<BlockTask>& todo, int num_workers, ShardPlan* plan);

}  // namespace ecps::sched
