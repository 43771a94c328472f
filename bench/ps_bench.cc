// ps_bench: push and pull throughput of the parameter server.
//
//   mpirun -np 3 build/bench/ps_bench --keys 10000000 --servers 1     (1 server, 1 worker)
//   build/bench/ps_bench --local --keys 10000000 --servers 1 --workers 1
//
// Each worker pushes N float values with an explicit sorted key list (keys 0..N-1, split by
// server range, as ps-lite's benchmark sends them), waits for every server's ack, then pulls
// them back. The time of a round is the slowest worker's; keys/s counts every worker's keys.
// Prints the median of --runs rounds as push_keys_per_s=... and pull_keys_per_s=..., plus
// the same for dense-range requests (PushRange/PullRange) and for a key list with gaps (the
// even keys 0, 2, ..., 2N-2: the list travels with its keys, where a list without gaps
// travels as a range).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include "launch/cluster.h"
#include "ps/collective.h"

namespace ecps::bench {
namespace {

constexpr ps::TableId kTable = 1;
constexpr ps::TableId kGapsTable = 2;  // twice the keys: the even ones are pushed

struct Times {
  std::vector<double> push, pull, push_range, pull_range, push_gaps, pull_gaps;
  template <class A>
  void serialize(A& ar) { ar(push, pull, push_range, pull_range, push_gaps, pull_gaps); }
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

class BenchJob final : public sched::Job {
 public:
  BenchJob(std::uint64_t keys, int runs) : keys_(keys), runs_(runs) {}
  std::string name() const override { return "ps_bench"; }
  std::vector<ps::TableSpec> Tables() const override {
    return {{kTable, "bench", ps::ValueType::kFloat32, 1, keys_, false},
            {kGapsTable, "bench.gaps", ps::ValueType::kFloat32, 1, 2 * keys_, false}};
  }
  Status SetupServer(ps::KVServer& s) override {
    ECPS_RETURN_IF_ERROR(s.AddTable<float>(Tables()[0], std::make_unique<ps::SumRule<float>>()));
    return s.AddTable<float>(Tables()[1], std::make_unique<ps::SumRule<float>>());
  }

  Status RunWorker(sched::JobContext& ctx) override {
    auto& kv = *ctx.client;
    std::vector<ps::Key> keys(keys_);
    std::iota(keys.begin(), keys.end(), ps::Key{0});
    std::vector<ps::Key> even(keys_);
    for (std::uint64_t i = 0; i < keys_; ++i) even[i] = 2 * i;
    std::vector<float> vals(keys_), out(keys_);
    std::mt19937 rng(static_cast<unsigned>(ctx.node.rank()));
    for (auto& v : vals) v = static_cast<float>(rng() % 1000) / 1000.0f;
    Times t;
    auto timed = [&](auto&& start) -> Result<double> {
      ECPS_RETURN_IF_ERROR(ctx.node.Barrier(ps::BarrierGroup::kWorkers, ctx.node.DefaultDeadline()));
      auto t0 = std::chrono::steady_clock::now();
      ECPS_RETURN_IF_ERROR(kv.Wait(start(), ctx.node.DefaultDeadline()));
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    for (int r = 0; r < runs_; ++r) {
      ECPS_ASSIGN_OR_RETURN(double a, timed([&] { return kv.Push<float>(kTable, keys, vals); }));
      ECPS_ASSIGN_OR_RETURN(double b, timed([&] { return kv.Pull<float>(kTable, keys, out); }));
      ECPS_ASSIGN_OR_RETURN(double c, timed([&] { return kv.PushRange<float>(kTable, 0, keys_, vals); }));
      ECPS_ASSIGN_OR_RETURN(double d, timed([&] { return kv.PullRange<float>(kTable, 0, keys_, out); }));
      ECPS_ASSIGN_OR_RETURN(double e, timed([&] { return kv.Push<float>(kGapsTable, even, vals); }));
      ECPS_ASSIGN_OR_RETURN(double f, timed([&] { return kv.Pull<float>(kGapsTable, even, out); }));
      t.push_gaps.push_back(e);
      t.pull_gaps.push_back(f);
      t.push.push_back(a);
      t.pull.push_back(b);
      t.push_range.push_back(c);
      t.pull_range.push_back(d);
    }
    return ps::Gather(ctx.node, ps::kFirstModelTopic, ps::WorkerRanks(ctx.node.roles()), t,
                      ctx.node.DefaultDeadline()).status();
  }

  Status RunScheduler(sched::JobContext& ctx) override {
    ECPS_ASSIGN_OR_RETURN(auto all, ps::Gather(ctx.node, ps::kFirstModelTopic, ps::WorkerRanks(ctx.node.roles()),
                                               Times{}, ctx.node.DefaultDeadline()));
    const int W = ctx.node.roles().num_workers();
    // Per round: the slowest worker's time.
    auto rate = [&](auto member) {
      std::vector<double> rounds;
      for (int r = 0; r < runs_; ++r) {
        double slowest = 0;
        for (const auto& t : all) slowest = std::max(slowest, (t.*member)[static_cast<std::size_t>(r)]);
        rounds.push_back(static_cast<double>(keys_) * W / slowest);
      }
      return Median(rounds);
    };
    std::printf("servers=%d workers=%d keys=%llu runs=%d\n", ctx.node.roles().num_servers(), W,
                static_cast<unsigned long long>(keys_), runs_);
    std::printf("push_keys_per_s=%.0f\n", rate(&Times::push));
    std::printf("pull_keys_per_s=%.0f\n", rate(&Times::pull));
    std::printf("push_range_keys_per_s=%.0f\n", rate(&Times::push_range));
    std::printf("pull_range_keys_per_s=%.0f\n", rate(&Times::pull_range));
    std::printf("push_gaps_keys_per_s=%.0f\n", rate(&Times::push_gaps));
    std::printf("pull_gaps_keys_per_s=%.0f\n", rate(&Times::pull_gaps));
    std::fflush(stdout);
    return Status::Ok();
  }

 private:
  std::uint64_t keys_;
  int runs_;
};

}  // namespace
}  // namespace ecps::bench

int main(int argc, char** argv) {
  using namespace ecps;
  CLI::App app{"ps_bench: push/pull throughput of the ecps parameter server (median of --runs)"};
  launch::ClusterOptions cluster;
  cluster.workers = 1;
  std::uint64_t keys = 10'000'000;
  int runs = 5;
  app.add_option("--keys", keys, "Keys per push and per pull, per worker")->capture_default_str();
  app.add_option("--runs", runs, "Rounds; the median is printed")->capture_default_str();
  launch::AddClusterOptions(app, cluster);
  CLI11_PARSE(app, argc, argv);
  Status s = launch::RunCluster(cluster, [&](ps::Rank) { return std::make_shared<bench::BenchJob>(keys, runs); });
  if (!s.ok()) {
    std::fprintf(stderr, "ps_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  launch::FinalizeMpi();
  return 0;
}
