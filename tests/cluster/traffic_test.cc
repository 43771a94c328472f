// Traffic counts (ps/traffic.h, scheduler/traffic.h): what the transports count, what the
// job runner gathers, and key lists without a gap travelling as ranges.
#include <numeric>

#include <gtest/gtest.h>

#include "ps/inproc_transport.h"
#include "ps/rules.h"
#include "scheduler/local_cluster.h"
#include "scheduler/traffic.h"
#include "tests/common/quiet_cluster.h"

namespace ecps {
namespace {

constexpr std::uint64_t kHead = sizeof(ps::MsgHeader);

ps::Message Kv(ps::MsgType type, ps::Rank to, ps::Clock clock, std::size_t keys, std::size_t value_bytes) {
  ps::Message m;
  m.head.type = type;
  m.head.receiver = to;
  m.head.clock = clock;
  m.keys = ps::Blob::Allocate(keys * sizeof(ps::Key));
  m.values = ps::Blob::Allocate(value_bytes);
  return m;
}

TEST(Traffic, InProcCountsKindsClocksAndBothEnds) {
  auto hub = ps::InProcHub::Create(2);
  auto a = hub->Endpoint(0), b = hub->Endpoint(1);
  ASSERT_TRUE(a->Send(Kv(ps::MsgType::kPush, 1, 2, 3, 12)).ok());
  ASSERT_TRUE(a->Send(Kv(ps::MsgType::kClock, 1, 3, 0, 0)).ok());  // ends clock 2
  ps::Message c;
  c.head.type = ps::MsgType::kControl;
  c.head.receiver = 1;
  c.control = ps::Blob::CopyOf("abcde", 5);
  ASSERT_TRUE(a->Send(std::move(c)).ok());
  // A reply taken by the receiver's direct sink is counted as received too.
  b->SetDirectSink([](ps::Message&) { return true; });
  ASSERT_TRUE(a->Send(Kv(ps::MsgType::kPullReply, 1, 0, 0, 8)).ok());
  b->SetDirectSink(nullptr);

  const ps::RankTraffic ta = a->Traffic(), tb = b->Traffic();
  EXPECT_EQ(ta.rank, 0);
  const auto kv = static_cast<std::size_t>(ps::TrafficKind::kKv);
  const auto control = static_cast<std::size_t>(ps::TrafficKind::kControl);
  EXPECT_EQ(ta.sent[kv].messages, 3u);
  EXPECT_EQ(ta.sent[kv].bytes, 3 * kHead + 3 * 8 + 12 + 8);
  EXPECT_EQ(ta.sent[control].messages, 1u);
  EXPECT_EQ(ta.sent[control].bytes, kHead + 5);
  EXPECT_EQ(ta.pushed_rows, 3u);
  ASSERT_EQ(ta.kv_sent_per_clock.size(), 3u);
  EXPECT_EQ(ta.kv_sent_per_clock[0].bytes, kHead + 8);           // the reply
  EXPECT_EQ(ta.kv_sent_per_clock[2].messages, 2u);               // push and clock message
  EXPECT_EQ(ta.kv_sent_per_clock[2].bytes, 2 * kHead + 3 * 8 + 12);
  EXPECT_EQ(tb.received[kv].bytes, ta.sent[kv].bytes);
  EXPECT_EQ(tb.received[control].bytes, ta.sent[control].bytes);
  EXPECT_EQ(tb.SentTotal().messages, 0u);
  EXPECT_EQ(ta.ReceivedTotal().messages, 0u);
}

constexpr ps::TableId kTable = 1;
constexpr std::uint64_t kKeys = 1000;

// Workers push every key (a list without a gap), then the even keys (a list with gaps), then
// pull both lists and check the sums; the scheduler keeps the gathered traffic.
class TrafficJob final : public sched::Job {
 public:
  std::string name() const override { return "traffic"; }
  std::vector<ps::TableSpec> Tables() const override {
    return {{kTable, "t", ps::ValueType::kFloat32, 1, kKeys, false}};
  }
  Status SetupServer(ps::KVServer& s) override {
    return s.AddTable<float>(Tables()[0], std::make_unique<ps::SumRule<float>>());
  }
  Status RunWorker(sched::JobContext& ctx) override {
    auto& kv = *ctx.client;
    const auto deadline = ps::DeadlineIn(30);
    std::vector<ps::Key> all(kKeys), even;
    std::iota(all.begin(), all.end(), ps::Key{0});
    for (ps::Key k = 0; k < kKeys; k += 2) even.push_back(k);
    std::vector<float> ones(kKeys, 1.0f), twos(even.size(), 2.0f);
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.Push<float>(kTable, all, ones), deadline));
    ECPS_RETURN_IF_ERROR(kv.Clock());
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.Push<float>(kTable, even, twos), deadline));
    ECPS_RETURN_IF_ERROR(kv.Clock());
    std::vector<float> got_all(kKeys), got_even(even.size());
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.Pull<float>(kTable, all, got_all), deadline));
    ECPS_RETURN_IF_ERROR(kv.Wait(kv.Pull<float>(kTable, even, got_even), deadline));
    const float W = static_cast<float>(ctx.node.roles().num_workers());
    for (ps::Key k = 0; k < kKeys; ++k) {
      const float want = k % 2 == 0 ? 3 * W : W;
      if (got_all[k] != want) return Internal("key " + std::to_string(k) + ": wrong sum");
      if (k % 2 == 0 && got_even[k / 2] != want) return Internal("even key: wrong sum");
    }
    return Status::Ok();
  }
  Status FinishScheduler(sched::JobContext& ctx) override {
    traffic = ctx.node.job_traffic();
    json = sched::TrafficJson(ctx.node);
    twice = sched::TrafficJson(ctx.node, traffic);  // as if an earlier job had moved the same
    return Status::Ok();
  }

  std::vector<ps::RankTraffic> traffic;
  nlohmann::json json, twice;
};

TEST(Traffic, JobCountsAreGatheredAndGaplessKeysTravelAsRanges) {
  const int S = 2, W = 2;
  std::shared_ptr<TrafficJob> sched_job;
  auto results = sched::RunLocalEach(*ps::RoleTable::Make(S, W), testing::QuietCluster(0), [&](ps::Rank r) {
    auto j = std::make_shared<TrafficJob>();
    if (r == 0) sched_job = j;
    return j;
  });
  for (std::size_t r = 0; r < results.size(); ++r) ASSERT_TRUE(results[r].ok()) << results[r].ToString();
  const auto& t = sched_job->traffic;
  ASSERT_EQ(t.size(), static_cast<std::size_t>(1 + S + W));
  const auto kv = static_cast<std::size_t>(ps::TrafficKind::kKv);
  // Per worker, per server (each holds 500 keys): push all (values only: a range), push the
  // 250 even keys (keys and values), pull all (a range: header only), pull the even keys
  // (keys), two clock messages.
  const std::uint64_t per_server = 6 * kHead + 500 * 4 + 250 * (8 + 4) + 250 * 8;
  std::uint64_t server_received = 0, server_sent = 0, worker_received = 0, server_all = 0;
  for (ps::Rank r = 0; r < 1 + S + W; ++r) {
    EXPECT_EQ(t[static_cast<std::size_t>(r)].rank, r);
    if (r >= 1 && r <= S) {
      server_received += t[static_cast<std::size_t>(r)].received[kv].bytes;
      server_sent += t[static_cast<std::size_t>(r)].sent[kv].bytes;
      server_all += t[static_cast<std::size_t>(r)].ReceivedTotal().bytes;
    }
    if (r > S) {
      EXPECT_EQ(t[static_cast<std::size_t>(r)].sent[kv].bytes, S * per_server) << "worker rank " << r;
      EXPECT_EQ(t[static_cast<std::size_t>(r)].pushed_rows, kKeys + kKeys / 2);
      EXPECT_EQ(t[static_cast<std::size_t>(r)].pulled_rows, kKeys + kKeys / 2);
      worker_received += t[static_cast<std::size_t>(r)].received[kv].bytes;
    }
  }
  EXPECT_EQ(server_received, W * S * per_server);
  // Replies: two acks (header only) and two pull replies (1000 + 500 values) per worker.
  EXPECT_EQ(server_sent, W * (4 * S * kHead + (kKeys + kKeys / 2) * 4));
  EXPECT_EQ(worker_received, server_sent);

  const auto& j = sched_job->json;
  EXPECT_EQ(j["header_bytes"], kHead);
  EXPECT_EQ(j["by_role"]["worker"]["ranks"], W);
  EXPECT_EQ(j["by_role"]["server"]["received"]["bytes"], server_all);
  EXPECT_EQ(j["kv_rows"]["pushed"], W * (kKeys + kKeys / 2));
  EXPECT_EQ(j["kv_per_clock"]["clocks"], 3);  // clock 2 holds the pulls
  EXPECT_EQ(j["by_rank"].size(), static_cast<std::size_t>(1 + S + W));

  // An earlier job's counts (CF's ingest) add up rank by rank, kind by kind, clock by clock.
  const auto& d = sched_job->twice;
  EXPECT_EQ(d["sent"]["bytes"], 2 * j["sent"]["bytes"].get<std::uint64_t>());
  EXPECT_EQ(d["sent_by_kind"]["control"]["messages"],
            2 * j["sent_by_kind"]["control"]["messages"].get<std::uint64_t>());
  EXPECT_EQ(d["by_role"]["server"]["received"]["bytes"], 2 * server_all);
  EXPECT_EQ(d["kv_rows"]["pushed"], 2 * W * (kKeys + kKeys / 2));
  EXPECT_EQ(d["kv_per_clock"]["clocks"], 3);
  EXPECT_EQ(d["kv_per_clock"]["bytes"]["max"],
            2 * j["kv_per_clock"]["bytes"]["max"].get<std::uint64_t>());
  EXPECT_NE(d["scope"], j["scope"]);
  for (std::size_t r = 0; r < j["by_rank"].size(); ++r) {
    EXPECT_EQ(d["by_rank"][r]["received_bytes"],
              2 * j["by_rank"][r]["received_bytes"].get<std::uint64_t>());
  }
}

TEST(Traffic, AddingALongerJobExtendsTheClocks) {
  ps::RankTraffic a, b;
  a.kv_sent_per_clock = {{1, 10}};
  b.kv_sent_per_clock = {{2, 20}, {3, 30}};
  b.sent[0] = {5, 50};
  a.Add(b);
  ASSERT_EQ(a.kv_sent_per_clock.size(), 2u);
  EXPECT_EQ(a.kv_sent_per_clock[0].bytes, 30u);
  EXPECT_EQ(a.kv_sent_per_clock[1].messages, 3u);
  EXPECT_EQ(a.SentTotal().bytes, 50u);
}

}  // namespace
}  // namespace ecps
