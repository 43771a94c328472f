// The ALS half-steps (models/mf/als.h, implicit and explicit) against direct dense solves of
// the least squares problems, written out by hand with Eigen; the Gram helpers; the model's
// scores, item similarities, predicted ratings and format 1; the pair reader.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include "models/mf/als.h"
#include "models/common/model_file.h"
#include "models/mf/mf_model.h"
#include "models/mf/mf_predict.h"

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

// The explicit half-step: min_x sum_{j observed} (e_j - x.y_j)^2 + lambda n |x|^2 (n = 3
// observed items of 5; the other two must not enter). Its normal equations, formed from the
// observed rows of Y only and solved densely, must equal SolveRowExplicit's answer, and the
// gradient of the objective must vanish there.
TEST(MfAls, ExplicitHalfStepEqualsDenseSolveOnObservedRatings) {
  const auto y = TinyY();
  const Eigen::Map<const Eigen::Matrix<double, 5, 3, Eigen::RowMajor>> ym(y.data());
  const std::vector<std::uint32_t> cols = {0, 2, 4};
  const std::vector<double> e = {1.5, -0.5, 0.25};
  for (double lambda : {0.0, 0.1, 2.0}) {
    Eigen::MatrixXd yo(3, 3);
    Eigen::VectorXd eo(3);
    for (int t = 0; t < 3; ++t) {
      yo.row(t) = ym.row(cols[static_cast<std::size_t>(t)]);
      eo(t) = e[static_cast<std::size_t>(t)];
    }
    const Eigen::MatrixXd a = yo.transpose() * yo + lambda * 3 * Eigen::MatrixXd::Identity(3, 3);
    const Eigen::VectorXd want = a.colPivHouseholderQr().solve(yo.transpose() * eo);
    std::vector<double> x(3);
    Eigen::MatrixXd sa;
    Eigen::VectorXd sb;
    SolveRowExplicit(y, 3, cols, e, lambda, x, &sa, &sb);
    const Eigen::Map<const Eigen::Vector3d> xv(x.data());
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(x[static_cast<std::size_t>(k)], want(k), 1e-12) << lambda;
    const Eigen::VectorXd grad = -2 * yo.transpose() * (eo - yo * xv) + 2 * lambda * 3 * xv;
    EXPECT_LT(grad.cwiseAbs().maxCoeff(), 1e-12) << lambda;
  }
  // No observed ratings: zero factors (the prediction falls back to the baseline).
  std::vector<double> x(3, 7.0);
  Eigen::MatrixXd sa;
  Eigen::VectorXd sb;
  SolveRowExplicit(y, 3, {}, {}, 0.1, x, &sa, &sb);
  for (double v : x) EXPECT_EQ(v, 0.0);
}

TEST(MfAls, ExplicitInitialFactorsAreCentredAndSeeded) {
  double sum = 0;
  for (std::uint64_t row = 0; row < 1000; ++row) {
    for (std::size_t k = 0; k < 4; ++k) {
      const double v = ExplicitInitialFactor(7, row, k, 4);
      EXPECT_GE(v, -0.25);
      EXPECT_LT(v, 0.25);
      EXPECT_EQ(v, ExplicitInitialFactor(7, row, k, 4));
      sum += v;
    }
  }
  // 4000 uniforms on [-0.25, 0.25): sd of the mean 0.5 / sqrt(12 * 4000) = 0.0023; 5 sd.
  EXPECT_LT(std::abs(sum / 4000), 0.0115);
}

// A rating model: scores are the unclipped predictions (recommendations' order), predicted
// ratings are clipped, unknown users or items fall back to the baseline's parts.
TEST(MfModel, RatingModelPredictsClippedRatings) {
  MfModel m;
  m.factors = 2;
  m.item_ids = {"a", "b", "c"};
  m.user_ids = {"u", "v"};
  m.item_factors = {1, 0, 0, 1, 2, 2};
  m.user_factors = {0.5, 1, 0, 0};
  m.train_ptr = {0, 1, 1};
  m.train_item = {0};
  m.item_count = {1, 0, 0};
  m.task = MfTask::kRating;
  m.global_mean = 3;
  m.rating_min = 1;
  m.rating_max = 5;
  m.user_bias = {0.25, -0.5};
  m.item_bias = {0.1, -0.2, 0.3};
  ASSERT_TRUE(CheckMfModel(m, "test").ok());
  EXPECT_NEAR(PredictRating(m, 0, 1), 3 + 0.25 - 0.2 + 1, 1e-12);
  EXPECT_EQ(PredictRating(m, 0, 2), 5.0);  // 3 + 0.25 + 0.3 + 3 clipped
  EXPECT_NEAR(PredictRating(m, 1, 0), 3 - 0.5 + 0.1, 1e-12);
  EXPECT_NEAR(PredictRating(m, -1, 2), 3.3, 1e-12);
  EXPECT_NEAR(PredictRating(m, 0, -1), 3.25, 1e-12);
  EXPECT_EQ(PredictRating(m, -1, -1), 3.0);
  MfRecommender r(m);
  std::vector<cf::Scored> top;
  EXPECT_FALSE(r.Recommend("u", 2, true, &top));
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].item, 2u);
  EXPECT_NEAR(top[0].score, 6.55, 1e-12);  // unclipped
  EXPECT_EQ(top[1].item, 1u);
  m.item_bias.pop_back();
  EXPECT_FALSE(CheckMfModel(m, "test").ok());
  m.item_bias.push_back(0.3);
  m.rating_min = 6;
  EXPECT_FALSE(CheckMfModel(m, "test").ok());
}

// A model written in format 1 (before the rating task).
struct V1 {
  MfModel* m;
  template <class A>
  void serialize(A& ar) {
    m->SerializeV1(ar);
  }
};

// A format-1 file loads as a ranking model.
TEST(MfModel, FormatOneLoadsAsRanking) {
  MfModel m;
  m.factors = 1;
  m.item_ids = {"a"};
  m.user_ids = {"u"};
  m.item_factors = {1};
  m.user_factors = {2};
  m.train_ptr = {0, 1};
  m.train_item = {0};
  m.item_count = {1};
  V1 v1{&m};
  const auto path = (std::filesystem::temp_directory_path() /
                     ("mf_v1_" + std::to_string(::getpid()) + ".ecps")).string();
  ASSERT_TRUE(SaveModel(path, MfModel::kKind, 1, v1).ok());
  auto loaded = LoadMfModel(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->rating());
  EXPECT_EQ(loaded->user_factors, m.user_factors);
}

TEST(MfPredict, ReadsPairsAndNamesBadLines) {
  const auto dir = std::filesystem::temp_directory_path() / ("mf_pairs_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = (dir / "good.csv").string(), bad = (dir / "bad.csv").string();
  std::ofstream(good) << "user,item,rating\nu,a,4\n\"v,x\",c\r\n";
  std::ofstream(bad) << "u,a\nv\n";
  auto pairs = ReadRatingPairs(good);
  ASSERT_TRUE(pairs.ok()) << pairs.status().ToString();
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[1].user, "v,x");
  EXPECT_EQ((*pairs)[1].item, "c");
  const auto refused = ReadRatingPairs(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(bad + ":2: 1 field(s)"), std::string::npos)
      << refused.status().ToString();
  EXPECT_FALSE(ReadRatingPairs((dir / "none.csv").string()).ok());
  std::filesystem::remove_all(dir);
  MfModel m;
  m.factors = 1;
  m.item_ids = {"a", "c"};
  m.user_ids = {"u"};
  m.item_factors = {1, 2};
  m.user_factors = {0.5};
  m.train_ptr = {0, 0};
  m.item_count = {0, 0};
  m.task = MfTask::kRating;
  m.global_mean = 3;
  m.rating_min = 1;
  m.rating_max = 5;
  m.user_bias = {0.5};
  m.item_bias = {0, -1};
  EXPECT_EQ(PredictPairsCsv(m, *pairs, {"u", "v,x"}),
            "user,item,rating,fallback\nu,a,4,\n\"v,x\",c,2,item\n");
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
