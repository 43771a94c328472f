#include "scheduler/shard_plan.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "ps/types.h"
#include "util/hash.h"
#include "util/input_file.h"

namespace ecps::sched {

int ShardPlan::UserOwner(std::string_view user_id) const {
  return static_cast<int>(util::HashToBucket(util::HashFeature(user_id, user_hash_seed),
                                           static_cast<ps::Key>(num_workers)));
}

std::string ShardPlan::Describe() const {
  std::string s = fmt::format("shard plan for {} worker(s):", num_workers);
  for (int w = 0; w < num_workers; ++w) {
    for (const auto& r : file_ranges[static_cast<std::size_t>(w)]) {
      s += fmt::format("\n  worker {}: {} bytes [{}, {})", w, r.path, r.begin, r.end);
    }
    if (!block_tasks.empty()) {
      s += fmt::format("\n  worker {}: {} similarity block(s)", w,
                       block_tasks[static_cast<std::size_t>(w)].size());
    }
  }
  if (!block_bounds.empty()) {
    s += fmt::format("\n  {} entity blocks over [0, {})", block_bounds.size() - 1, block_bounds.back());
  }
  s += fmt::format("\n  users: owner = hash(user id, seed {:#x}) mod {}", user_hash_seed, num_workers);
  return s;
}

Result<ShardPlan> PlanFiles(const std::vector<std::string>& files, int num_workers) {
  ShardPlan plan;
  plan.num_workers = num_workers;
  plan.file_ranges.resize(static_cast<std::size_t>(num_workers));
  for (const auto& f : files) {
    std::error_code ec;
    ECPS_ASSIGN_OR_RETURN(std::string local, util::LocalInputPath(f));  // gzip, stdin: the copy
    auto size = std::filesystem::file_size(local, ec);
    if (ec) return NotFound(fmt::format("{}: {}", f, ec.message()));
    for (int w = 0; w < num_workers; ++w) {
      auto wu = static_cast<std::uint64_t>(w);
      auto W = static_cast<std::uint64_t>(num_workers);
      plan.file_ranges[static_cast<std::size_t>(w)].push_back(
          FileRange{f, static_cast<std::uint64_t>(static_cast<ps::U128>(size) * wu / W),
                    static_cast<std::uint64_t>(static_cast<ps::U128>(size) * (wu + 1) / W)});
    }
  }
  return plan;
}

void PlanBlocks(std::uint64_t n, int num_workers, std::uint64_t block_size, ShardPlan* plan) {
  auto W = static_cast<std::uint64_t>(num_workers);
  std::uint64_t blocks = block_size ? (n + block_size - 1) / block_size : 2 * W;
  blocks = std::max<std::uint64_t>(1, std::min(blocks, std::max<std::uint64_t>(n, 1)));
  plan->block_bounds.clear();
  for (std::uint64_t b = 0; b <= blocks; ++b) plan->block_bounds.push_back(n * b / blocks);
  std::vector<BlockTask> tasks;
  for (std::uint32_t i = 0; i < blocks; ++i) {
    for (std::uint32_t j = i; j < blocks; ++j) tasks.push_back({i, j});
  }
  AssignBlockTasks(tasks, num_workers, plan);
}

void AssignBlockTasks(const std::vector<BlockTask>& todo, int num_workers, ShardPlan* plan) {
  auto W = static_cast<std::uint64_t>(num_workers);
  struct Task {
    BlockTask t;
    std::uint64_t cost;
  };
  std::vector<Task> tasks;
  const auto& bounds = plan->block_bounds;
  for (const BlockTask& t : todo) {
    std::uint64_t rows = bounds[t.row_block + 1] - bounds[t.row_block];
    std::uint64_t cols = bounds[t.col_block + 1] - bounds[t.col_block];
    tasks.push_back({t, rows * cols});
  }
  std::stable_sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) { return a.cost > b.cost; });
  plan->block_tasks.assign(W, {});
  std::vector<std::uint64_t> load(W, 0);
  for (const auto& t : tasks) {
    auto w = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    plan->block_tasks[w].push_back(t.t);
    load[w] += t.cost;
  }
  for (auto& list : plan->block_tasks) {
    std::sort(list.begin(), list.end(), [](const BlockTask& a, const BlockTask& b) {
      return std::tie(a.row_block, a.col_block) < std::tie(b.row_block, b.col_block);
    });
  }
}

}  // namespace ecps::sched
