#include "ps/rules.h"

#include <gtest/gtest.h>

#include "tests/common/shard_rows.h"

namespace ecps::ps {
namespace {

using Shard = ecps::testing::ShardRows;

TEST(Rules, SumAddsAssignOverwrites) {
  Shard s;
  std::vector<Key> keys{101, 105};
  std::vector<double> p{1, 2, 3, 4};
  SumRule<double> sum;
  sum.Apply(s.Rows(keys, 0), p.data());
  sum.Apply(s.Rows(keys, 0), p.data());
  EXPECT_EQ(s.values[2], 2);
  EXPECT_EQ(s.values[3], 4);
  EXPECT_EQ(s.values[10], 6);
  EXPECT_EQ(s.values[11], 8);
  AssignRule<double> assign;
  assign.Apply(s.Rows(keys, 0), p.data());
  EXPECT_EQ(s.values[10], 3);
  EXPECT_EQ(s.values[0], 0);
}

TEST(Rules, DenseRangeSum) {
  std::vector<float> v(8, 1.0f);
  std::vector<float> p{1, 2, 3};
  RowSpan<float> rows{v.data(), nullptr, 1, 0, 10, nullptr, 12, 3};
  SumRule<float>().Apply(rows, p.data());
  EXPECT_EQ(v, (std::vector<float>{1, 1, 2, 3, 4, 1, 1, 1}));
}

TEST(Rules, FinalizerDefaultSumsIntoAggregate) {
  struct Mean final : Finalizer<double> {
    void Finalize(const FinalizeContext& ctx, std::span<const double> agg, std::span<double> v) override {
      for (std::size_t r = 0; r < ctx.range.size(); ++r) {
        v[2 * r] = agg[2 * r] / agg[2 * r + 1];
        v[2 * r + 1] = agg[2 * r + 1];
      }
    }
  } mean;
  std::vector<double> agg(4, 0.0), vis(4, 0.0);
  std::vector<Key> keys{0, 1};
  std::vector<double> p1{4, 1, 10, 2}, p2{8, 1, 20, 3};
  RowSpan<double> rows{agg.data(), nullptr, 2, 0, 0, keys.data(), 0, 2};
  mean.Accumulate(rows, p1.data());
  mean.Accumulate(rows, p2.data());
  FinalizeContext ctx;
  ctx.range = {0, 2};
  ctx.width = 2;
  mean.Finalize(ctx, agg, vis);
  EXPECT_DOUBLE_EQ(vis[0], 6.0);
  EXPECT_DOUBLE_EQ(vis[1], 2.0);
  EXPECT_DOUBLE_EQ(vis[2], 6.0);
  EXPECT_DOUBLE_EQ(vis[3], 5.0);
}

}  // namespace
}  // namespace ecps::ps
