#include <thread>

#include <gtest/gtest.h>

#include "ps/faulty_transport.h"
#include "ps/inproc_transport.h"

namespace ecps::ps {
namespace {

Message Control(Rank to, std::uint32_t topic) {
  Message m;
  m.head.type = MsgType::kControl;
  m.head.receiver = to;
  m.head.topic = topic;
  return m;
}

TEST(InProcTransport, FifoPerSenderAndSenderFilledIn) {
  auto hub = InProcHub::Create(3);
  auto a = hub->Endpoint(0), b = hub->Endpoint(1), c = hub->Endpoint(2);
  for (std::uint32_t i = 0; i < 100; ++i) ASSERT_TRUE(a->Send(Control(2, i)).ok());
  for (std::uint32_t i = 0; i < 100; ++i) {
    auto m = c->Recv(DeadlineIn(1));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->head.topic, i);
    EXPECT_EQ(m->head.sender, 0);
  }
}

TEST(InProcTransport, RecvHonoursDeadline) {
  auto hub = InProcHub::Create(2);
  auto a = hub->Endpoint(0);
  auto t0 = SteadyClock::now();
  auto m = a->Recv(DeadlineIn(0.05));
  EXPECT_EQ(m.status().code(), StatusCode::kTimeout);
  EXPECT_GE(SteadyClock::now() - t0, std::chrono::milliseconds(45));
}

TEST(InProcTransport, BadRankAndClosedEndpoint) {
  auto hub = InProcHub::Create(2);
  auto a = hub->Endpoint(0), b = hub->Endpoint(1);
  EXPECT_EQ(a->Send(Control(7, 0)).code(), StatusCode::kInvalidArgument);
  b->Close();
  EXPECT_EQ(a->Send(Control(1, 0)).code(), StatusCode::kAborted);
  EXPECT_EQ(b->Recv(DeadlineIn(1)).status().code(), StatusCode::kAborted);
}

TEST(InProcTransport, CloseWakesBlockedRecv) {
  auto hub = InProcHub::Create(1);
  auto a = hub->Endpoint(0);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    a->Close();
  });
  auto m = a->Recv(DeadlineIn(30));
  closer.join();
  EXPECT_EQ(m.status().code(), StatusCode::kAborted);
}

TEST(FaultyTransport, FailsTheNthSendToAPeer) {
  auto hub = InProcHub::Create(2);
  FaultyTransport f(hub->Endpoint(0), FaultPlan{1, 3, -1});
  EXPECT_TRUE(f.Send(Control(1, 0)).ok());
  EXPECT_TRUE(f.Send(Control(1, 0)).ok());
  Status s = f.Send(Control(1, 0));
  EXPECT_EQ(s.code(), StatusCode::kPeerLost);
  EXPECT_NE(s.message().find("send #3 to rank 1"), std::string::npos);
  EXPECT_TRUE(f.Send(Control(1, 0)).ok());
}

TEST(FaultyTransport, DeadEndpointGoesSilent) {
  auto hub = InProcHub::Create(2);
  FaultyTransport f(hub->Endpoint(0), FaultPlan{-1, 0, 1});
  auto peer = hub->Endpoint(1);
  EXPECT_TRUE(f.Send(Control(1, 0)).ok());  // delivered
  EXPECT_TRUE(f.Send(Control(1, 1)).ok());  // dropped: the endpoint died
  EXPECT_TRUE(f.dead());
  EXPECT_TRUE(peer->Recv(DeadlineIn(1)).ok());
  EXPECT_EQ(peer->Recv(DeadlineIn(0.05)).status().code(), StatusCode::kTimeout);
}

}  // namespace
}  // namespace ecps::ps
