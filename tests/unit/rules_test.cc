#include "ps/rules.h"

#include <gtest/gtest.h>

namespace ecps::ps {
namespace {

// A shard of 10 keys starting at key 100, width 2.
struct Shard {
  std::vector<double> values = std::vector<double>(20, 0.0);
  std::vector<double> state;
  RowSpan<double> Rows(const std::vector<Key>& keys, std::size_t state_width) {
    state.resize(20 * std::max<std::size_t>(1, state_width), 0.0);
    return RowSpan<double>{values.data(), state.data(), 2, state_width, 100, keys.data(), 0, keys.size()};
  }
};

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

TEST(Rules, SgdAndAdaGradStep) {
  Shard s;
  std::vector<Key> keys{100};
  std::vector<double> g{0.5, -1.0};
  SgdRule<double>(0.1).Apply(s.Rows(keys, 0), g.data());
  EXPECT_DOUBLE_EQ(s.values[0], -0.05);
  EXPECT_DOUBLE_EQ(s.values[1], 0.1);

  Shard a;
  AdaGradRule<double> ada(1.0, 0.0);
  ada.Apply(a.Rows(keys, ada.StateWidth(2)), g.data());  // acc = g^2, step = g/|g|
  EXPECT_DOUBLE_EQ(a.values[0], -1.0);
  EXPECT_DOUBLE_EQ(a.values[1], 1.0);
  ada.Apply(a.Rows(keys, ada.StateWidth(2)), g.data());  // acc = 2 g^2, step = 1/sqrt(2)
  EXPECT_NEAR(a.values[0], -1.0 - 1 / std::sqrt(2.0), 1e-12);
}

TEST(Rules, FtrlMatchesClosedFormAndIsSparse) {
  FtrlParams p{0.5, 1.0, 0.2, 0.1};
  Shard s;
  std::vector<Key> keys{100};
  FtrlRule<double> ftrl(p);
  // One coordinate, by hand: z = g - sigma*w (w = 0 at first), n = g^2.
  std::vector<double> g{0.1, 2.0};
  ftrl.Apply(s.Rows(keys, ftrl.StateWidth(2)), g.data());
  EXPECT_EQ(s.values[0], 0.0) << "|z| = 0.1 <= lambda1 = 0.2: exactly zero";
  const double z = 2.0, n = 4.0;
  const double w = -(z - p.lambda1) / ((p.beta + std::sqrt(n)) / p.alpha + p.lambda2);
  EXPECT_NEAR(s.values[1], w, 1e-12);
  EXPECT_LT(s.values[1], 0.0);
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
