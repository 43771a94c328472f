// An error keeps its code on every relay between ranks. Each test builds the ranks by hand so
// that the order of the news is fixed: the scheduler's node exists but never starts, so it
// relays nothing, and a server's refusal is the only way the worker can hear of a failure.
#include <optional>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "ps/inproc_transport.h"
#include "ps/kv_client.h"
#include "ps/kv_server.h"
#include "ps/logging.h"
#include "ps/rules.h"

namespace ecps {
namespace {

constexpr ps::Rank kServer = 1;
constexpr ps::Rank kWorker = 2;

// Scheduler (never started), one server with table 1, one worker that knows tables 1 and 2.
class Relay : public ::testing::Test {
 protected:
  // `server_heartbeat_timeout_s`: how long the server waits for the silent scheduler before
  // it declares it lost (the worker never does during a test).
  void StartRanks(double server_heartbeat_timeout_s = 3600) {
    auto hub = ps::InProcHub::Create(roles_.size());
    auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
    for (ps::Rank r = 0; r < roles_.size(); ++r) {
      ps::NodeOptions o;
      o.heartbeat_interval_s = 0.1;
      o.heartbeat_timeout_s = r == kServer ? server_heartbeat_timeout_s : 3600;
      nodes_.push_back(std::make_unique<ps::Node>(
          roles_, hub->Endpoint(r), o, ps::MakeRankLogger(roles_, r, sink, spdlog::level::off)));
    }
    server_.emplace(*nodes_[kServer], ps::Consistency::Bsp());
    ASSERT_TRUE(server_->AddTable<float>(tables_[0], std::make_unique<ps::SumRule<float>>()).ok());
    client_.emplace(*nodes_[kWorker], tables_);
    nodes_[kServer]->Start();
    nodes_[kWorker]->Start();
  }
  void TearDown() override {
    for (auto& n : nodes_) n->Stop();  // before the server and client they call go away
  }

  Status Pull(ps::TableId table) {
    std::vector<float> out(10);
    return client_->Wait(client_->PullRange<float>(table, 0, 10, out), ps::DeadlineIn(60));
  }

  ps::RoleTable roles_ = *ps::RoleTable::Make(1, 1);
  std::vector<ps::TableSpec> tables_{{1, "t", ps::ValueType::kFloat32, 1, 10, false},
                                     {2, "u", ps::ValueType::kFloat32, 1, 10, false}};
  std::vector<std::unique_ptr<ps::Node>> nodes_;
  std::optional<ps::KVServer> server_;
  std::optional<ps::KVClient> client_;
};

TEST_F(Relay, RefusalKeepsTheServersCode) {
  StartRanks();
  Status s = Pull(2);  // the server has no table 2
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_EQ(s.message(), "table u: rank 1 (server 0): no table 2 on this server");
  EXPECT_FALSE(nodes_[kWorker]->aborted()) << "a refused request is the caller's to handle";
}

// A data error elsewhere aborted the job; the server's refusal reaches the worker before the
// scheduler's abort would (here: instead of it).
TEST_F(Relay, RefusalAfterAnAbortCarriesTheRootCauseWithItsCode) {
  StartRanks();
  const Status cause = DataError("rank 3 (worker 1): lr run: train.txt:1832: feature \"7:x\" is not idx:value");
  (void)nodes_[kServer]->Abort(cause);
  EXPECT_EQ(Pull(1), cause);
  EXPECT_EQ(nodes_[kWorker]->abort_status(), cause) << "the worker records the job's abort";
  std::vector<float> v(10, 1.0f);
  EXPECT_EQ(client_->Wait(client_->PushRange<float>(1, 0, 10, v), ps::DeadlineIn(60)), cause);
}

// As when the scheduler's process is killed: the server notices the silence first, and the
// worker hears of it through the server's refusal. It reports the loss itself, not an echo.
TEST_F(Relay, LostSchedulerHeardThroughTheServerIsReportedAsTheLoss) {
  StartRanks(/*server_heartbeat_timeout_s=*/0.5);
  ASSERT_TRUE(nodes_[kServer]->WaitForAbort(ps::DeadlineIn(60)));
  const Status cause = nodes_[kServer]->abort_status();
  ASSERT_EQ(cause.code(), StatusCode::kPeerLost) << cause.ToString();
  ASSERT_EQ(cause.message().rfind("lost rank 0 (scheduler)", 0), 0u) << cause.message();
  EXPECT_EQ(Pull(1), cause);
  EXPECT_EQ(nodes_[kWorker]->abort_status(), cause);
}

}  // namespace
}  // namespace ecps
