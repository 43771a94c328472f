#include "models/lr/optimizers.h"

#include <cmath>
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

}  // namespace
}  // namespace ecps::models::lr
