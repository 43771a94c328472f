#include "models/lr/optimizers.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/shard_rows.h"

namespace ecps::models::lr {
namespace {

using ps::Key;

using Shard = ecps::testing::ShardRows;

TEST(Optimizers, SgdAndAdaGradStep) {
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

TEST(Optimizers, FtrlMatchesClosedFormAndIsSparse) {
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

TEST(Optimizers, FtrlDenseRangeGivesTheKeyedUpdateBitForBit) {
  // DP-SGD updates a dense range (FtrlDense, vectorised); the same gradients pushed by key take
  // the per-key path. Weights and state must agree exactly, including exact zeros (|z| <= l1)
  // and the sign of z, over several steps.
  const FtrlParams p{0.15, 1.0, 1.0, 0.5};
  constexpr std::size_t kN = 1001, kBase = 40;
  std::vector<float> dense_v(kN), dense_st(2 * kN), keyed_v(kN), keyed_st(2 * kN);
  std::vector<Key> keys(kN);
  for (std::size_t i = 0; i < kN; ++i) keys[i] = kBase + i;
  FtrlRule<float> rule(p);
  std::uint64_t x = 12345;
  std::vector<float> g(kN);
  for (int step = 0; step < 6; ++step) {
    for (float& v : g) {  // values in [-4, 4), with exact zeros
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      v = (x >> 61) == 0 ? 0.0f : static_cast<float>(static_cast<double>(x >> 11) * 0x1.0p-53 * 8.0 - 4.0);
    }
    ps::RowSpan<float> dense{dense_v.data(), dense_st.data(), 1, 2, kBase, nullptr, kBase, kN};
    rule.Apply(dense, g.data());
    ps::RowSpan<float> keyed{keyed_v.data(), keyed_st.data(), 1, 2, kBase, keys.data(), 0, kN};
    rule.Apply(keyed, g.data());
  }
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(std::memcmp(&dense_v[i], &keyed_v[i], sizeof(float)), 0) << i << ": " << dense_v[i] << " " << keyed_v[i];
    zeros += keyed_v[i] == 0.0f;
  }
  EXPECT_EQ(std::memcmp(dense_st.data(), keyed_st.data(), dense_st.size() * sizeof(float)), 0);
  EXPECT_GT(zeros, 0u);
  EXPECT_LT(zeros, kN);
}

}  // namespace
}  // namespace ecps::models::lr
