// What the scheduler writes at the end of CF training (model_job.h): DIR/recommendations.csv,
// neighbors.csv (and content_neighbors.csv), model.ecps, metrics.json and metrics.jsonl.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/cf/messages.h"
#include "models/cf/model.h"
#include "models/cf/train_state.h"
#include "scheduler/job.h"

namespace ecps::models::cf {

/// The scheduler's view of a finished training.
struct TrainedResults {
  const CfOptions& options;
  const Settings& settings;
  const RankState& state;
  const std::vector<WorkerReport>& reports;  // one per worker
  const NeighborLists& neighbors;
  const NeighborLists& content;  // empty without item attributes
};

/// Where each user's rows are in the workers' reports (the scheduler's outputs).
class UserLocator {
 public:
  UserLocator(const std::vector<WorkerReport>& reports, std::uint32_t n_users)
      : where_(n_users, {kNowhere, 0}) {
    for (std::size_t r = 0; r < reports.size(); ++r) {
      for (std::size_t p = 0; p < reports[r].users.size(); ++p) {
        where_[reports[r].users[p]] = {static_cast<std::uint32_t>(r),
                                       static_cast<std::uint32_t>(p)};
      }
    }
  }
  bool Found(std::uint32_t u) const { return where_[u].first != kNowhere; }
  std::uint32_t report(std::uint32_t u) const { return where_[u].first; }
  std::size_t position(std::uint32_t u) const { return where_[u].second; }

 private:
  static constexpr std::uint32_t kNowhere = ~0u;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> where_;  // (report, position)
};

/// What writing the CSV files took: bytes, seconds formatting them and handing them to the
/// kernel, and seconds of Commit (the fsync that makes a file durable, and the rename).
/// format_cpu_s is the same span's CPU time of the writing thread: the rate the code reaches
/// whatever else runs on the machine.
struct CsvStats {
  std::uint64_t bytes = 0;
  double format_s = 0, format_cpu_s = 0, sync_s = 0;
};

/// Writes `path`: recommendations.csv (user,item,score; the top N of each user the reports
/// hold, users in index order), sealed under options.encrypt; adds to `*stats`.
Status WriteRecommendations(const std::string& path, const TrainedResults& in,
                            const UserLocator& where, CsvStats* stats);

/// Scheduler: the `n` rows of a neighbour table of `k` slots, as each server sent them on
/// `topic` (in any order).
Result<NeighborLists> ReceiveLists(ps::Node& node, std::uint32_t topic, std::size_t n,
                                   std::size_t k);

/// Writes the outputs into options.out and logs a summary.
Status WriteOutputs(sched::JobContext& ctx, const TrainedResults& results);

}  // namespace ecps::models::cf
