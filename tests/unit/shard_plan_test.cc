#include "scheduler/shard_plan.h"

#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "ps/message.h"

namespace ecps::sched {
namespace {

TEST(ShardPlan, MissingFileIsNamed) {
  auto p = PlanFiles({"/nonexistent/data.csv"}, 2);
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("/nonexistent/data.csv"), std::string::npos);
}

TEST(ShardPlan, UsersOwnedByExactlyOneWorker) {
  ShardPlan p;
  p.num_workers = 4;
  std::vector<int> count(4, 0);
  for (int u = 0; u < 4000; ++u) {
    int w = p.UserOwner(fmt::format("user{}", u));
    ASSERT_GE(w, 0);
    ASSERT_LT(w, 4);
    EXPECT_EQ(w, p.UserOwner(fmt::format("user{}", u)));
    ++count[static_cast<std::size_t>(w)];
  }
  for (int c : count) EXPECT_GT(c, 800);
}

TEST(ShardPlan, BlocksCoverUpperTriangleOnce) {
  for (int workers : {1, 2, 3, 4}) {
    ShardPlan p;
    p.num_workers = workers;
    PlanBlocks(1000, workers, 0, &p);
    const auto B = static_cast<std::uint32_t>(p.block_bounds.size() - 1);
    EXPECT_EQ(p.block_bounds.front(), 0u);
    EXPECT_EQ(p.block_bounds.back(), 1000u);
    std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
    for (const auto& list : p.block_tasks) {
      for (const auto& t : list) {
        EXPECT_LE(t.row_block, t.col_block);
        EXPECT_TRUE(seen.insert({t.row_block, t.col_block}).second);
      }
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(B) * (B + 1) / 2);
  }
}

TEST(ShardPlan, SerializesForBroadcast) {
  ShardPlan p;
  p.num_workers = 2;
  p.file_ranges = {{{"a", 0, 10}}, {{"a", 10, 20}}};
  PlanBlocks(50, 2, 10, &p);
  ShardPlan q;
  ASSERT_TRUE(ps::DecodeControl(ps::EncodeControl(p), &q).ok());
  EXPECT_EQ(q.num_workers, 2);
  EXPECT_EQ(q.file_ranges[1][0].begin, 10u);
  EXPECT_EQ(q.block_bounds, p.block_bounds);
  EXPECT_EQ(q.block_tasks.size(), 2u);
  EXPECT_NE(p.Describe().find("worker 1: a bytes [10, 20)"), std::string::npos);
}

}  // namespace
}  // namespace ecps::sched
