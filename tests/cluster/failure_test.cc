// Failure detection in single-node mode: a rank that goes silent (as if killed) is named in
// the error every other rank returns, within the heartbeat timeout; requests that get no
// answer fail at their deadline instead of hanging.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <optional>

#include "ps/inproc_transport.h"
#include "ps/kv_client.h"
#include "ps/logging.h"
#include "scheduler/local_cluster.h"
#include "scheduler/scheduler_service.h"
#include "tests/common/scenarios.h"

namespace ecps {
namespace {

sched::LocalClusterOptions FastHeartbeats() {
  sched::LocalClusterOptions o;
  o.node.heartbeat_interval_s = 0.1;
  o.node.heartbeat_timeout_s = 1.0;
  o.node.default_timeout_s = 60;
  if (!std::getenv("ECPS_TEST_LOG")) o.sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  return o;
}

class DeadRank : public ::testing::TestWithParam<int> {};

TEST_P(DeadRank, EveryOtherRankStopsNamingIt) {
  const ps::Rank victim = GetParam();
  auto roles = *ps::RoleTable::Make(2, 3);
  auto options = FastHeartbeats();
  options.faults[victim] = ps::FaultPlan{-1, 0, 40};  // goes silent after 40 sends
  auto t0 = std::chrono::steady_clock::now();
  auto results = sched::RunLocalEach(roles, options, [](ps::Rank) {
    return std::make_shared<testing::EndlessJob>();
  });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 15.0);
  const std::string name = roles.Describe(victim);
  for (ps::Rank r = 0; r < roles.size(); ++r) {
    if (r == victim) continue;
    const Status& s = results[static_cast<std::size_t>(r)];
    EXPECT_EQ(s.code(), StatusCode::kPeerLost) << "rank " << r << ": " << s.ToString();
    EXPECT_NE(s.message().find("lost " + name), std::string::npos) << "rank " << r << ": " << s.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Cluster, DeadRank, ::testing::Values(0, 1, 4),
                         [](const ::testing::TestParamInfo<int>& p) { return "rank" + std::to_string(p.param); });

// A scheduler, a server rank whose node has no KVServer (requests reach it and are never
// answered) and a worker's KVClient of one table, started; the nodes stop before the services
// they call go away.
struct SilentServer {
  ps::RoleTable roles = *ps::RoleTable::Make(1, 1);
  std::shared_ptr<ps::InProcHub> hub = ps::InProcHub::Create(roles.size());
  std::vector<std::unique_ptr<ps::Node>> nodes;
  std::optional<sched::SchedulerService> service;
  std::optional<ps::KVClient> client;

  SilentServer() {
    auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
    for (ps::Rank r = 0; r < roles.size(); ++r) {
      nodes.push_back(std::make_unique<ps::Node>(roles, hub->Endpoint(r), ps::NodeOptions{},
                                                 ps::MakeRankLogger(roles, r, sink, spdlog::level::off)));
    }
    service.emplace(*nodes[0]);
    client.emplace(*nodes[2], std::vector<ps::TableSpec>{{1, "t", ps::ValueType::kFloat32, 1, 10, false}});
    for (auto& n : nodes) n->Start();
  }
  ~SilentServer() {
    for (auto& n : nodes) n->Stop();
  }
};

TEST(Deadline, PullWithoutServerAnswerTimesOut) {
  SilentServer c;
  auto& nodes = c.nodes;
  auto& client = *c.client;
  // Barriers and control receives that nobody completes fail at their deadline.
  EXPECT_EQ(nodes[2]->Barrier(ps::BarrierGroup::kAll, ps::DeadlineIn(0.2)).code(), StatusCode::kTimeout);
  auto ctl = nodes[2]->RecvControl(1234, 0, ps::DeadlineIn(0.1));
  EXPECT_EQ(ctl.status().code(), StatusCode::kTimeout);
  EXPECT_FALSE(nodes[2]->aborted());
  // A pull nobody answers fails at its deadline and aborts the job (its buffer is borrowed).
  std::vector<float> out(10);
  auto t0 = std::chrono::steady_clock::now();
  Status s = client.Wait(client.PullRange<float>(1, 0, 10, out), ps::DeadlineIn(0.3));
  EXPECT_EQ(s.code(), StatusCode::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(290));
  EXPECT_TRUE(nodes[2]->aborted());
  EXPECT_TRUE(nodes[0]->WaitForAbort(ps::DeadlineIn(5))) << "the scheduler hears of the abort";
}

TEST(Deadline, WaitAllWaitsForEveryRequestAfterTheFirstFails) {
  // Both pulls go to the server rank that never answers: the first fails at its deadline, and
  // WaitAll must still wait for the second (its buffer is borrowed too) before it returns.
  SilentServer c;
  auto& client = *c.client;
  std::vector<float> a(10), b(10);
  const ps::Handle ha = client.PullRange<float>(1, 0, 10, a);
  const ps::Handle hb = client.PullRange<float>(1, 0, 10, b);
  const std::pair<ps::Handle, const char*> requests[] = {{ha, "pull a"}, {0, "skipped"}, {hb, "pull b"}};
  Status s = client.WaitAll(requests, ps::DeadlineIn(0.3));
  EXPECT_EQ(s.code(), StatusCode::kTimeout) << s.ToString();
  EXPECT_NE(s.ToString().find("pull a"), std::string::npos) << s.ToString();
  // Waited for: the client no longer knows either handle.
  EXPECT_EQ(client.Wait(ha, ps::DeadlineIn(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Wait(hb, ps::DeadlineIn(1)).code(), StatusCode::kInvalidArgument);
  // A failure passed in comes first.
  const ps::Handle hc = client.PullRange<float>(1, 0, 10, a);
  const std::pair<ps::Handle, const char*> more[] = {{hc, "pull c"}};
  s = client.WaitAll(more, ps::DeadlineIn(0.3), DataError("clock failed"));
  EXPECT_EQ(s.code(), StatusCode::kDataError) << s.ToString();
  EXPECT_EQ(client.Wait(hc, ps::DeadlineIn(1)).code(), StatusCode::kInvalidArgument);
}

TEST(Deadline, AbortWakesEveryWaiter) {
  SilentServer c;
  auto& nodes = c.nodes;
  auto& client = *c.client;
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)nodes[1]->Abort(DataError("users.csv:17: column \"age\": \"abc\" is not a number"));
  });
  std::vector<float> out(10);
  Status s = client.Wait(client.PullRange<float>(1, 0, 10, out), ps::DeadlineIn(30));
  aborter.join();
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("users.csv:17"), std::string::npos);
  EXPECT_EQ(nodes[0]->abort_status().code(), StatusCode::kDataError);  // the scheduler heard it
}

}  // namespace
}  // namespace ecps
