#include "models/kmeans/worker_state.h"

#include <span>

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
  std::vector<ps::Handle> pushes;
  if (round.push_stats) {
    pushes.push_back(kv_.PushRange<double>(kStatsTable, 0, k, *round.push_stats));
  }
  if (round.push_reduce) {
    pushes.push_back(kv_.PushRange<double>(kReduceTable, 0, 1, *round.push_reduce));
  }
  if (round.push_top) pushes.push_back(kv_.PushRange<double>(kTopTable, 0, 1, *round.push_top));
  // Pushes reach a server before this worker's clock and pulls (messages from one sender
  // arrive in order): their acks are awaited with the pulls, one round trip in all.
  ECPS_RETURN_IF_ERROR_CTX(kv_.Clock(), "clock");
  std::vector<ps::Handle> pulls;
  if (round.pull_stats) {
    round.pull_stats->resize(k * layout.stats_width());
    pulls.push_back(kv_.PullRange<double>(kStatsTable, 0, k, std::span<double>(*round.pull_stats)));
  }
  if (round.pull_reduce) {
    round.pull_reduce->resize(layout.reduce_width());
    pulls.push_back(
        kv_.PullRange<double>(kReduceTable, 0, 1, std::span<double>(*round.pull_reduce)));
  }
  if (round.pull_top) {
    round.pull_top->resize(layout.top_width());
    pulls.push_back(kv_.PullRange<double>(kTopTable, 0, 1, std::span<double>(*round.pull_top)));
  }
  for (auto h : pushes) ECPS_RETURN_IF_ERROR_CTX(kv_.Wait(h, Deadline()), "push");
  for (auto h : pulls) ECPS_RETURN_IF_ERROR_CTX(kv_.Wait(h, Deadline()), "pull");
  return Status::Ok();
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
  const ps::Handle push = kv_.PushRange<double>(table, 0, mine.size(), mine);
  ECPS_RETURN_IF_ERROR_CTX(kv_.Clock(), "clock");
  const ps::Handle pull = kv_.PullRange<double>(table, 0, mine.size(), std::span<double>(totals));
  ECPS_RETURN_IF_ERROR_CTX(kv_.Wait(push, Deadline()), "push");
  ECPS_RETURN_IF_ERROR_CTX(kv_.Wait(pull, Deadline()), "pull");
  return totals;
}

Status WorkerState::Report(const PhaseReport& report) {
  if (worker != 0) return Status::Ok();
  return ToScheduler(kProgressTopic, report);
}

}  // namespace ecps::models::kmeans
