// The ALS half-step (models/mf/als.h) against a direct dense solve of the weighted least
// squares problem, written out by hand with Eigen; the Gram helpers; the model's scores and
// item similarities.
#include <cmath>
#include <vector>

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include "models/mf/als.h"
#include "models/mf/mf_model.h"

namespace ecps::models::mf {
namespace {

// A tiny item-factor matrix: 5 items x 3 factors.
std::vector<double> TinyY() {
  return {0.3, -0.1, 0.8,  //
          0.5, 0.2,  -0.4,  //
          -0.7, 0.9, 0.1,  //
          0.0, 0.4,  0.6,  //
          0.2, -0.5, 0.3};
}

TEST(MfAls, GramMatchesYtY) {
  const auto y = TinyY();
  const Eigen::Map<const Eigen::Matrix<double, 5, 3, Eigen::RowMajor>> ym(y.data());
  std::vector<double> upper(6, 0.0);
  AddGram(y, 3, upper);
  const Eigen::MatrixXd g = GramFromUpper(upper, 3);
  EXPECT_LT((g - ym.transpose() * ym).cwiseAbs().maxCoeff(), 1e-15);
}

// The user half-step: min_x sum_j c_j (p_j - x.y_j)^2 + lambda |x|^2 over all 5 items, with
// p_j = 1 and c_j = 1 + alpha r_j for the observed items, p_j = 0 and c_j = 1 otherwise.
// Its normal equations (Y^T C Y + lambda I) x = Y^T C p solved densely must equal SolveRow's
// answer, which never forms C.
TEST(MfAls, HalfStepEqualsDenseWeightedLeastSquares) {
  const auto y = TinyY();
  const Eigen::Map<const Eigen::Matrix<double, 5, 3, Eigen::RowMajor>> ym(y.data());
  const double lambda = 0.1;
  for (double alpha : {0.0, 1.0, 40.0}) {
    const std::vector<std::uint32_t> cols = {1, 3, 4};
    const std::vector<float> values = {1.0f, 2.0f, 0.5f};
    Eigen::VectorXd c = Eigen::VectorXd::Ones(5), p = Eigen::VectorXd::Zero(5);
    for (std::size_t t = 0; t < cols.size(); ++t) {
      c(cols[t]) = 1.0 + alpha * values[t];
      p(cols[t]) = 1.0;
    }
    const Eigen::MatrixXd a = ym.transpose() * c.asDiagonal() * ym + lambda * Eigen::MatrixXd::Identity(3, 3);
    const Eigen::VectorXd b = ym.transpose() * c.asDiagonal() * p;
    const Eigen::VectorXd want = a.colPivHouseholderQr().solve(b);

    std::vector<double> upper(6, 0.0);
    AddGram(y, 3, upper);
    Eigen::MatrixXd gram = GramFromUpper(upper, 3);
    gram.diagonal().array() += lambda;
    std::vector<double> x(3);
    Eigen::MatrixXd sa;
    Eigen::VectorXd sb;
    SolveRow(gram, y, 3, cols, values, alpha, x, &sa, &sb);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(x[static_cast<std::size_t>(k)], want(k), 1e-12) << alpha;
    // Empty values mean r = 1 for every observed item.
    Eigen::VectorXd c1 = Eigen::VectorXd::Ones(5);
    for (auto j : cols) c1(j) = 1.0 + alpha;
    const Eigen::VectorXd want1 =
        (ym.transpose() * c1.asDiagonal() * ym + lambda * Eigen::MatrixXd::Identity(3, 3))
            .colPivHouseholderQr()
            .solve(ym.transpose() * c1.asDiagonal() * p);
    SolveRow(gram, y, 3, cols, {}, alpha, x, &sa, &sb);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(x[static_cast<std::size_t>(k)], want1(k), 1e-12) << alpha;
  }
}

TEST(MfAls, RowWithoutInteractionsIsZero) {
  const auto y = TinyY();
  std::vector<double> upper(6, 0.0);
  AddGram(y, 3, upper);
  Eigen::MatrixXd gram = GramFromUpper(upper, 3);
  gram.diagonal().array() += 0.01;
  std::vector<double> x(3, 7.0);
  Eigen::MatrixXd sa;
  Eigen::VectorXd sb;
  SolveRow(gram, y, 3, {}, {}, 40.0, x, &sa, &sb);
  for (double v : x) EXPECT_EQ(v, 0.0);
}

TEST(MfAls, InitialFactorsAreSmallAndSeeded) {
  for (std::uint64_t row = 0; row < 100; ++row) {
    for (std::size_t k = 0; k < 4; ++k) {
      const double v = InitialFactor(7, row, k);
      EXPECT_GE(v, 0.0);
      EXPECT_LT(v, 0.01);
      EXPECT_EQ(v, InitialFactor(7, row, k));
    }
  }
  EXPECT_NE(InitialFactor(7, 3, 0), InitialFactor(8, 3, 0));
}

TEST(MfModel, ScoresAndSimilarItems) {
  MfModel m;
  m.factors = 2;
  m.item_ids = {"a", "b", "c", "d"};
  m.user_ids = {"u"};
  // b points as a, c opposite, d orthogonal.
  m.item_factors = {1, 0, 2, 0, -1, 0, 0, 3};
  m.user_factors = {0.5, 1};
  m.train_ptr = {0, 1};
  m.train_item = {0};
  m.item_count = {1, 0, 0, 0};
  ASSERT_TRUE(CheckMfModel(m, "test").ok());
  const auto sim = SimilarItems(m, 0, 3);
  ASSERT_EQ(sim.size(), 3u);
  EXPECT_EQ(sim[0].item, 1u);
  EXPECT_NEAR(sim[0].score, 1.0, 1e-12);
  EXPECT_EQ(sim[1].item, 3u);
  EXPECT_NEAR(sim[1].score, 0.0, 1e-12);
  EXPECT_EQ(sim[2].item, 2u);
  EXPECT_NEAR(sim[2].score, -1.0, 1e-12);
  MfRecommender r(m);
  std::vector<cf::Scored> top;
  EXPECT_FALSE(r.Recommend("u", 2, true, &top));
  ASSERT_EQ(top.size(), 2u);  // item a is the user's: excluded
  EXPECT_EQ(top[0].item, 3u);  // 3
  EXPECT_NEAR(top[0].score, 3.0, 1e-12);
  EXPECT_EQ(top[1].item, 1u);  // 1
  EXPECT_TRUE(r.Recommend("stranger", 1, true, &top));
  m.item_factors[5] = std::nan("");
  EXPECT_FALSE(CheckMfModel(m, "test").ok());
}

}  // namespace
}  // namespace ecps::models::mf
