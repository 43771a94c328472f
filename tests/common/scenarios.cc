#include "tests/common/scenarios.h"

#include <thread>

#include <fmt/format.h>

#include "ps/collective.h"

namespace ecps::testing {
namespace {

Status Expect(bool ok, const std::string& what) {
  return ok ? Status::Ok() : Internal("expectation failed: " + what);
}

Status ExpectError(const Status& s, StatusCode code, const std::string& fragment, const std::string& what) {
  if (s.code() != code || s.message().find(fragment) == std::string::npos) {
    return Internal(fmt::format("{}: expected {} containing \"{}\", got {}", what,
                                StatusCodeName(code), fragment, s.ToString()));
  }
  return Status::Ok();
}

}  // namespace

// ---- MeanFinalizerJob ----------------------------------------------------------------

namespace {
class MeanFinalizer final : public ps::Finalizer<double> {
 public:
  void Finalize(const ps::FinalizeContext& ctx, std::span<const double> agg,
                std::span<double> values) override {
    for (std::size_t r = 0; r < ctx.range.size(); ++r) {
      const double count = agg[2 * r + 1];
      values[2 * r] = count > 0 ? agg[2 * r] / count : 0.0;
      values[2 * r + 1] = count;
    }
  }
};
}  // namespace

std::vector<ps::TableSpec> MeanFinalizerJob::Tables() const {
  return {{7, "means", ps::ValueType::kFloat64, 2, 10, true}};
}

Status MeanFinalizerJob::SetupServer(ps::KVServer& server) {
  return server.AddTable<double>(Tables()[0], std::make_unique<ps::AssignRule<double>>(),
                                 std::make_unique<MeanFinalizer>());
}

Status MeanFinalizerJob::RunWorker(sched::JobContext& ctx) {
  auto& kv = *ctx.client;
  const int w = ctx.node.index();
  const int W = ctx.node.roles().num_workers();
  std::vector<double> push(20), seen(20);
  for (int c = 0; c < clocks_; ++c) {
    // Worker w contributes (w + 1) * (c + 1) + k with weight 1 to key k.
    for (int k = 0; k < 10; ++k) {
      push[2 * static_cast<std::size_t>(k)] = (w + 1) * (c + 1) + k;
      push[2 * static_cast<std::size_t>(k) + 1] = 1;
    }
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PushRange<double>(7, 0, 10, push), ctx.node.DefaultDeadline()));
    ECPS_RETURN_IF_ERROR(kv.Clock());
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PullRange<double>(7, 0, 10, seen), ctx.node.DefaultDeadline()));
    for (int k = 0; k < 10; ++k) {
      const double expect = (W + 1) / 2.0 * (c + 1) + k;  // mean over workers
      ECPS_RETURN_IF_ERROR(Expect(seen[2 * static_cast<std::size_t>(k)] == expect &&
                                      seen[2 * static_cast<std::size_t>(k) + 1] == W,
                                  fmt::format("clock {} key {}: mean {} count {}, expected {} and {}", c, k,
                                              seen[2 * static_cast<std::size_t>(k)],
                                              seen[2 * static_cast<std::size_t>(k) + 1], expect, W)));
    }
  }
  return Status::Ok();
}

// ---- ApiErrorsJob ----------------------------------------------------------------------

std::vector<ps::TableSpec> ApiErrorsJob::Tables() const {
  return {{1, "weights", ps::ValueType::kFloat32, 2, 100, false}};
}

Status ApiErrorsJob::SetupServer(ps::KVServer& server) {
  return server.AddTable<float>(Tables()[0], std::make_unique<ps::SumRule<float>>());
}

Status ApiErrorsJob::RunWorker(sched::JobContext& ctx) {
  auto& kv = *ctx.client;
  auto d = [&] { return ps::DeadlineIn(30); };
  std::vector<float> vals(6, 1.0f);
  std::vector<double> dvals(6, 1.0);
  std::vector<ps::Key> unsorted{5, 3, 9}, dup{3, 3, 9}, too_big{1, 2, 100}, ok{1, 50, 99};
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.Push<float>(1, unsorted, vals), d()),
                                   StatusCode::kInvalidArgument, "not sorted and unique", "unsorted keys"));
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.Push<float>(1, dup, vals), d()),
                                   StatusCode::kInvalidArgument, "not sorted and unique", "duplicate keys"));
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.Pull<float>(1, too_big, vals), d()),
                                   StatusCode::kInvalidArgument, "key 100 >= num_keys 100", "key out of range"));
  std::vector<float> short_vals(5);
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.Push<float>(1, ok, short_vals), d()),
                                   StatusCode::kInvalidArgument, "5 values for 3 rows of width 2", "value count"));
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.Push<double>(1, ok, dvals), d()),
                                   StatusCode::kInvalidArgument, "value type", "value type"));
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.Push<float>(42, ok, vals), d()),
                                   StatusCode::kInvalidArgument, "no table 42", "unknown table"));
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(kv.PullRange<float>(1, 90, 101, vals), d()),
                                   StatusCode::kInvalidArgument, "outside [0, 100)", "range out of bounds"));
  ECPS_RETURN_IF_ERROR(ExpectError(kv.Wait(ps::Handle{987654}, d()), StatusCode::kInvalidArgument,
                                   "unknown handle", "unknown handle"));
  // After all that, the table still works and holds only the valid pushes.
  ECPS_RETURN_IF_ERROR(kv.Wait(kv.Push<float>(1, ok, vals), d()));
  ECPS_RETURN_IF_ERROR(ctx.node.Barrier(ps::BarrierGroup::kWorkers, d()));
  std::vector<float> got(6);
  ECPS_RETURN_IF_ERROR(kv.Wait(kv.Pull<float>(1, ok, got), d()));
  const float W = static_cast<float>(ctx.node.roles().num_workers());
  for (float g : got) ECPS_RETURN_IF_ERROR(Expect(g == W, fmt::format("value {} != {}", g, W)));
  // Empty requests complete at once.
  std::vector<ps::Key> none;
  std::vector<float> nothing;
  return kv.Wait(kv.Pull<float>(1, none, nothing), d());
}

// ---- FailingWorkerJob ------------------------------------------------------------------

std::vector<ps::TableSpec> FailingWorkerJob::Tables() const {
  return {{1, "t", ps::ValueType::kFloat32, 1, 16, true}};
}

Status FailingWorkerJob::SetupServer(ps::KVServer& server) {
  return server.AddTable<float>(Tables()[0], std::make_unique<ps::SumRule<float>>());
}

Status FailingWorkerJob::RunWorker(sched::JobContext& ctx) {
  auto& kv = *ctx.client;
  std::vector<float> v(16, 1.0f);
  for (int c = 0;; ++c) {
    if (ctx.node.index() == failing_ && c == at_) {
      return DataError(fmt::format("train.txt:{}: feature \"7:x\" is not idx:value", 1832));
    }
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PushRange<float>(1, 0, 16, v), ctx.node.DefaultDeadline()));
    ECPS_RETURN_IF_ERROR(kv.Clock());
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PullRange<float>(1, 0, 16, v), ctx.node.DefaultDeadline()));
  }
}

// ---- CollectivesJob --------------------------------------------------------------------

Status CollectivesJob::RunScheduler(sched::JobContext& ctx) {
  const auto workers = ps::WorkerRanks(ctx.node.roles());
  for (int round = 0; round < 5; ++round) {
    std::vector<std::int64_t> value{round, 1000 + round};
    ECPS_RETURN_IF_ERROR(ps::Broadcast(ctx.node, 1100, workers, &value, ps::DeadlineIn(30)));
    ECPS_ASSIGN_OR_RETURN(auto answers, ps::Gather(ctx.node, 1101, workers, std::int64_t{0}, ps::DeadlineIn(30)));
    for (std::size_t w = 0; w < answers.size(); ++w) {
      const std::int64_t expect = 1000 + round + static_cast<std::int64_t>(w) * round;
      ECPS_RETURN_IF_ERROR(Expect(answers[w] == expect,
                                  fmt::format("round {} worker {}: {} != {}", round, w, answers[w], expect)));
    }
  }
  return Status::Ok();
}

Status CollectivesJob::RunWorker(sched::JobContext& ctx) {
  const auto workers = ps::WorkerRanks(ctx.node.roles());
  for (int round = 0; round < 5; ++round) {
    std::vector<std::int64_t> value;
    ECPS_RETURN_IF_ERROR(ps::Broadcast(ctx.node, 1100, workers, &value, ps::DeadlineIn(30)));
    ECPS_RETURN_IF_ERROR(Expect(value.size() == 2 && value[0] == round, "broadcast value"));
    ECPS_RETURN_IF_ERROR(ctx.node.Barrier(ps::BarrierGroup::kWorkers, ps::DeadlineIn(30)));
    std::int64_t answer = value[1] + ctx.node.index() * value[0];
    ECPS_RETURN_IF_ERROR(ps::Gather(ctx.node, 1101, workers, answer, ps::DeadlineIn(30)).status());
  }
  return Status::Ok();
}

// ---- EndlessJob ------------------------------------------------------------------------

std::vector<ps::TableSpec> EndlessJob::Tables() const {
  return {{1, "t", ps::ValueType::kFloat32, 1, 1024, false}};
}

Status EndlessJob::SetupServer(ps::KVServer& server) {
  return server.AddTable<float>(Tables()[0], std::make_unique<ps::SumRule<float>>());
}

Status EndlessJob::RunWorker(sched::JobContext& ctx) {
  auto& kv = *ctx.client;
  std::vector<float> v(1024, 1.0f);
  while (true) {
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PushRange<float>(1, 0, 1024, v), ctx.node.DefaultDeadline()));
    ECPS_RETURN_IF_ERROR(kv.Clock());
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.PullRange<float>(1, 0, 1024, v), ctx.node.DefaultDeadline()));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace ecps::testing
