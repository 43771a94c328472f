#include "models/pscheck/pscheck.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "ps/collective.h"

namespace ecps::models {
namespace {

constexpr ps::TableId kSum = 1;      // float, width 2, sum rule, sparse pushes
constexpr ps::TableId kDense = 2;    // float, width 1, assign rule, dense-range pushes
constexpr ps::TableId kClocked = 3;  // double, width 1, per-clock aggregation
constexpr std::uint64_t kClockedKeys = 64;
constexpr std::uint32_t kReportTopic = ps::kFirstModelTopic;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Worker w pushes to the sparse keys k with k % (W + 1) != w, so keys differ in how many
// workers touch them.
bool Touches(std::uint64_t k, int w, int W) { return k % static_cast<std::uint64_t>(W + 1) != static_cast<std::uint64_t>(w); }

}  // namespace

std::vector<ps::TableSpec> PsCheckJob::Tables() const {
  return {
      {kSum, "check.sum", ps::ValueType::kFloat32, 2, options_.keys, false},
      {kDense, "check.dense", ps::ValueType::kFloat32, 1, options_.keys, false},
      {kClocked, "check.clocked", ps::ValueType::kFloat64, 1, kClockedKeys, true},
  };
}

Status PsCheckJob::SetupServer(ps::KVServer& server) {
  auto t = Tables();
  ECPS_RETURN_IF_ERROR(server.AddTable<float>(t[0], std::make_unique<ps::SumRule<float>>()));
  ECPS_RETURN_IF_ERROR(server.AddTable<float>(t[1], std::make_unique<ps::AssignRule<float>>()));
  return server.AddTable<double>(t[2], std::make_unique<ps::SumRule<double>>());
}

Status PsCheckJob::RunWorker(sched::JobContext& ctx) {
  ps::KVClient& kv = *ctx.client;
  const int w = ctx.node.index();
  const int W = ctx.node.roles().num_workers();
  const int C = options_.clocks;
  const int s = ctx.consistency.Bound();
  const std::uint64_t K = options_.keys;
  auto deadline = [&] { return ctx.node.DefaultDeadline(); };
  PsCheckReport report;

  std::vector<ps::Key> keys;
  for (std::uint64_t k = 0; k < K; ++k) {
    if (Touches(k, w, W)) keys.push_back(k);
  }
  const ps::Key lo = K * static_cast<std::uint64_t>(w) / static_cast<std::uint64_t>(W);
  const ps::Key hi = K * static_cast<std::uint64_t>(w + 1) / static_cast<std::uint64_t>(W);
  std::vector<float> sum_vals(keys.size() * 2), dense_vals(hi - lo);
  std::vector<double> clocked_vals(kClockedKeys, w + 1), clocked_seen(kClockedKeys);
  const double S = W * (W + 1) / 2.0;  // one clock's aggregate per key: sum of (w'+1)

  for (int c = 0; c < C; ++c) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      sum_vals[2 * i] = static_cast<float>((w + 1) * (c + 1));
      sum_vals[2 * i + 1] = 1.0f;
    }
    std::fill(dense_vals.begin(), dense_vals.end(), static_cast<float>(w + 1 + c));
    auto t0 = std::chrono::steady_clock::now();
    auto h1 = kv.Push<float>(kSum, keys, sum_vals);
    auto h2 = kv.PushRange<float>(kDense, lo, hi, dense_vals);
    auto h3 = kv.PushRange<double>(kClocked, 0, kClockedKeys, clocked_vals);
    const std::pair<ps::Handle, const char*> pushes[] = {
        {h1, "push check.sum"}, {h2, "push check.dense"}, {h3, "push check.clocked"}};
    ECPS_RETURN_IF_ERROR(kv.WaitAll(pushes, deadline()));
    report.push_seconds += Seconds(t0);
    if (w == 0 && options_.slow_worker_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.slow_worker_ms));
    }
    ECPS_RETURN_IF_ERROR(kv.Clock());

    // At clock c+1 every update from clocks <= c-s must be visible, and nothing beyond my own.
    auto t1 = std::chrono::steady_clock::now();
    ECPS_RETURN_IF_ERROR_CTX(
        kv.Wait(kv.PullRange<double>(kClocked, 0, kClockedKeys, clocked_seen), deadline()),
        "pull check.clocked");
    report.pull_seconds += Seconds(t1);
    const std::int64_t mine = c + 1;
    const std::int64_t lower = s < 0 ? 0 : std::max<std::int64_t>(0, mine - s);
    for (std::uint64_t k = 0; k < kClockedKeys; ++k) {
      const double v = clocked_seen[k];
      const double clocks_seen = v / S;
      if (clocks_seen != std::floor(clocks_seen) || clocks_seen < static_cast<double>(lower) ||
          clocks_seen > static_cast<double>(mine)) {
        return DataError(fmt::format(
            "check.clocked key {} at clock {}: pulled {} = {} clocks of updates; expected between "
            "{} and {} (staleness {})",
            k, mine, v, clocks_seen, lower, mine, s));
      }
      report.max_staleness_seen =
          std::max(report.max_staleness_seen, mine - static_cast<std::int64_t>(clocks_seen));
      ++report.values_checked;
    }
  }

  // Every worker's pushes are acknowledged once all have passed this barrier: the final
  // values are exact.
  ECPS_RETURN_IF_ERROR(ctx.node.Barrier(ps::BarrierGroup::kWorkers, deadline()));
  std::vector<ps::Key> all(K);
  for (std::uint64_t k = 0; k < K; ++k) all[k] = k;
  std::vector<float> got_sum(2 * K), got_dense(K);
  auto t2 = std::chrono::steady_clock::now();
  auto p1 = kv.Pull<float>(kSum, all, got_sum);
  auto p2 = kv.PullRange<float>(kDense, 0, K, got_dense);
  const std::pair<ps::Handle, const char*> pulls[] = {{p1, "pull check.sum"}, {p2, "pull check.dense"}};
  ECPS_RETURN_IF_ERROR(kv.WaitAll(pulls, deadline()));
  report.pull_seconds += Seconds(t2);
  const double per_clock_sum = C * (C + 1) / 2.0;
  for (std::uint64_t k = 0; k < K; ++k) {
    double expect_sum = 0, expect_count = 0;
    for (int v = 0; v < W; ++v) {
      if (Touches(k, v, W)) {
        expect_sum += (v + 1) * per_clock_sum;
        expect_count += C;
      }
    }
    if (got_sum[2 * k] != expect_sum || got_sum[2 * k + 1] != expect_count) {
      return DataError(fmt::format("check.sum key {}: pulled ({}, {}), expected ({}, {})", k,
                                   got_sum[2 * k], got_sum[2 * k + 1], expect_sum, expect_count));
    }
  }
  for (int v = 0; v < W; ++v) {
    const ps::Key a = K * static_cast<std::uint64_t>(v) / static_cast<std::uint64_t>(W);
    const ps::Key b = K * static_cast<std::uint64_t>(v + 1) / static_cast<std::uint64_t>(W);
    for (ps::Key k = a; k < b; ++k) {
      if (got_dense[k] != static_cast<float>(v + 1 + C - 1)) {
        return DataError(fmt::format("check.dense key {}: pulled {}, expected {} (assigned by worker {})",
                                     k, got_dense[k], v + C, v));
      }
    }
  }
  report.values_checked += 3 * K;
  auto gathered = ps::Gather(ctx.node, kReportTopic, ps::WorkerRanks(ctx.node.roles()), report, deadline());
  return gathered.status();
}

Status PsCheckJob::RunScheduler(sched::JobContext& ctx) {
  ECPS_ASSIGN_OR_RETURN(reports_, ps::Gather(ctx.node, kReportTopic, ps::WorkerRanks(ctx.node.roles()),
                                             PsCheckReport{}, ctx.node.DefaultDeadline()));
  std::uint64_t checked = 0;
  std::int64_t stale = 0;
  for (const auto& r : reports_) {
    checked += r.values_checked;
    stale = std::max(stale, r.max_staleness_seen);
  }
  ctx.node.log().info(
      "pscheck passed: {} worker(s) x {} clock(s) on {} server(s), {} values checked exactly, "
      "largest staleness seen {} (allowed: {})",
      ctx.node.roles().num_workers(), options_.clocks, ctx.node.roles().num_servers(), checked, stale,
      ctx.consistency.Bound() < 0 ? std::string("any (ASP)")
                                  : std::to_string(ctx.consistency.Bound()));
  return Status::Ok();
}

}  // namespace ecps::models
