#include "models/kmeans/worker_state.h"

#include <span>
#include <utility>
#include <vector>

namespace ecps::models::kmeans {

ReduceRow::ReduceRow(const TableLayout& layout)
    : sums_(layout.sums), values_(layout.reduce_width(), 0.0) {
  values_[0] = 1.0;
  for (std::size_t i = 0; i < layout.maxes; ++i) Max(i) = -kInf;
}

WorkerState::WorkerState(const KMeansOptions& job_options,
                         const worker::FeatureSchema& feature_schema,
                         const TableLayout& table_layout, sched::JobContext& job_context)
    : options(job_options),
      schema(feature_schema),
      layout(table_layout),
      ctx(job_context),
      worker(job_context.node.index()),
      k(table_layout.k),
      d(table_layout.d),
      kv_(*job_context.client) {}

// Null = not pushed / not pulled.
struct WorkerState::Round {
  const std::vector<double>* push_stats = nullptr;
  const std::vector<double>* push_reduce = nullptr;
  const std::vector<double>* push_top = nullptr;
  std::vector<double>* pull_stats = nullptr;
  std::vector<double>* pull_reduce = nullptr;
  std::vector<double>* pull_top = nullptr;
};

Status WorkerState::RunRound(const Round& round) {
  std::vector<std::pair<ps::Handle, const char*>> requests;
  if (round.push_stats) {
    requests.emplace_back(kv_.PushRange<double>(kStatsTable, 0, k, *round.push_stats), "push");
  }
  if (round.push_reduce) {
    requests.emplace_back(kv_.PushRange<double>(kReduceTable, 0, 1, *round.push_reduce), "push");
  }
  if (round.push_top) requests.emplace_back(kv_.PushRange<double>(kTopTable, 0, 1, *round.push_top), "push");
  // Pushes reach a server before this worker's clock and pulls (messages from one sender
  // arrive in order): their acks are awaited with the pulls, one round trip in all.
  Status clock = kv_.Clock();
  if (!clock.ok()) return kv_.WaitAll(requests, Deadline(), clock.WithContext("clock"));
  if (round.pull_stats) {
    round.pull_stats->resize(k * layout.stats_width());
    requests.emplace_back(kv_.PullRange<double>(kStatsTable, 0, k, std::span<double>(*round.pull_stats)), "pull");
  }
  if (round.pull_reduce) {
    round.pull_reduce->resize(layout.reduce_width());
    requests.emplace_back(kv_.PullRange<double>(kReduceTable, 0, 1, std::span<double>(*round.pull_reduce)),
                          "pull");
  }
  if (round.pull_top) {
    round.pull_top->resize(layout.top_width());
    requests.emplace_back(kv_.PullRange<double>(kTopTable, 0, 1, std::span<double>(*round.pull_top)), "pull");
  }
  return kv_.WaitAll(requests, Deadline());
}

Result<ReduceRow> WorkerState::ReduceAcrossWorkers(const ReduceRow& mine) {
  ReduceRow totals(layout);
  ECPS_RETURN_IF_ERROR(RunRound({.push_reduce = &mine.values(), .pull_reduce = &totals.values()}));
  return totals;
}

Result<std::vector<double>> WorkerState::MergeTopAcrossWorkers(const std::vector<double>& mine) {
  std::vector<double> merged;
  ECPS_RETURN_IF_ERROR(RunRound({.push_top = &mine, .pull_top = &merged}));
  return merged;
}

Result<ClusterTotals> WorkerState::ClusterSumsAcrossWorkers(const std::vector<double>& sums,
                                                            const ReduceRow& mine) {
  ClusterTotals totals{{}, ReduceRow(layout)};
  ECPS_RETURN_IF_ERROR(RunRound({.push_stats = &sums,
                                 .push_reduce = &mine.values(),
                                 .pull_stats = &totals.stats,
                                 .pull_reduce = &totals.reduce.values()}));
  return totals;
}

Result<std::vector<double>> WorkerState::ColumnAcrossWorkers(ps::TableId table,
                                                             const std::vector<double>& mine) {
  std::vector<double> totals(mine.size());
  std::vector<std::pair<ps::Handle, const char*>> requests;
  requests.emplace_back(kv_.PushRange<double>(table, 0, mine.size(), mine), "push");
  Status clock = kv_.Clock();
  if (!clock.ok()) return kv_.WaitAll(requests, Deadline(), clock.WithContext("clock"));
  requests.emplace_back(kv_.PullRange<double>(table, 0, mine.size(), std::span<double>(totals)), "pull");
  ECPS_RETURN_IF_ERROR(kv_.WaitAll(requests, Deadline()));
  return totals;
}

Status WorkerState::Report(const PhaseReport& report) {
  if (worker != 0) return Status::Ok();
  return ToScheduler(kProgressTopic, report);
}

}  // namespace ecps::models::kmeans
