// The RDP accountant: the reference values of Opacus and TF Privacy, RDP values against a
// numerical integration, the closed forms at q = 0 and q = 1, monotonicity, the noise search's
// round trip, and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "privacy/rdp_accountant.h"

namespace ecps::privacy {
namespace {

using SG = SampledGaussian;

double Epsilon(const SG& m, double delta, Conversion conversion) {
  auto g = ComputeEpsilon(m, delta, {.conversion = conversion});
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? g->epsilon : NAN;
}

TEST(RdpAccountant, DefaultOrdersAreOpacusOnes) {
  const auto& orders = DefaultOrders();
  ASSERT_EQ(orders.size(), 99u + 52u);
  EXPECT_DOUBLE_EQ(orders.front(), 1.1);
  EXPECT_DOUBLE_EQ(orders[98], 10.9);
  EXPECT_EQ(orders[99], 12);
  EXPECT_EQ(orders.back(), 63);
}

// Opacus, opacus/tests/accountants_test.py, test_rdp_accountant: RDPAccountant's default
// orders (the default here) and its get_epsilon (the balle conversion).
TEST(RdpAccountant, ReproducesOpacus) {
  auto g = ComputeEpsilon(SG{1.5, 0.04, 2250}, 1e-5);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_NEAR(g->epsilon, 7.32911117143, 1e-6);
  EXPECT_DOUBLE_EQ(g->order, 3.9);
  EXPECT_EQ(g->delta, 1e-5);
}

// TF Privacy's classic conversion (get_privacy_spent before 2020). Its optimum is at the
// order 20, which is in the default orders and in the orders of TF Privacy's
// compute_dp_sgd_privacy, passed explicitly here: both give the reference value.
TEST(RdpAccountant, ReproducesTfPrivacyClassic) {
  const SG m{4, 0.01, 10000};
  auto g = ComputeEpsilon(m, 1e-5, {.conversion = Conversion::kClassic});
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_NEAR(g->epsilon, 1.2585747, 1e-6);
  EXPECT_EQ(g->order, 20);

  std::vector<double> tf_orders = {1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5};
  for (int a = 5; a < 64; ++a) tf_orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0}) tf_orders.push_back(a);
  auto tf = ComputeEpsilon(m, 1e-5, {.conversion = Conversion::kClassic, .orders = tf_orders});
  ASSERT_TRUE(tf.ok()) << tf.status().message();
  EXPECT_NEAR(tf->epsilon, 1.2585747, 1e-6);
  EXPECT_EQ(tf->order, 20);
}

// TF Privacy's rdp_accountant_test.py: test_compute_rdp_scalar and test_compute_rdp_sequence
// (fractional and integer orders, some beyond 63).
TEST(RdpAccountant, ReproducesTfPrivacyRdpValues) {
  EXPECT_NEAR(ComposedRdp(SG{2, 0.1, 10}, std::vector<double>{5})[0], 0.07737, 1e-5);
  const std::vector<double> orders = {1.5, 2.5, 5, 50, 100};
  const std::vector<double> want = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};
  const auto rdp = ComposedRdp(SG{2.5, 0.01, 50}, orders);
  for (std::size_t i = 0; i < orders.size(); ++i) {
    EXPECT_NEAR(rdp[i], want[i], 1e-5) << "order " << orders[i];
  }
}

// log(E_{z~N(0,σ²)}[((1 − q) + q·exp((2z − 1)/(2σ²)))^α]) / (α − 1) integrated numerically
// with mpmath (40 digits): the definition the series expand.
TEST(RdpAccountant, FractionalOrdersMatchNumericalIntegration) {
  struct Case {
    double q, sigma, order, rdp;
  };
  for (const Case& c : {Case{0.04, 1.5, 3.9, 0.0018332021995838586},
                        Case{0.01, 4, 1.1, 3.5451046829344148e-6},
                        Case{0.5, 0.8, 2.5, 0.99460953128079577},
                        Case{1e-3, 0.7, 7.3, 0.0048539834466922814},
                        Case{0.2, 1.0, 10.9, 3.6782139295098421},
                        Case{0.9, 2.0, 1.5, 0.15371663095863049}}) {
    EXPECT_NEAR(StepRdp(c.q, c.sigma, c.order), c.rdp, 1e-9 * c.rdp)
        << "q " << c.q << " sigma " << c.sigma << " order " << c.order;
  }
}

TEST(RdpAccountant, ClosedFormsAtSampleRatesZeroAndOne) {
  for (double order : {1.1, 2.0, 3.7, 20.0, 63.0}) {
    EXPECT_EQ(StepRdp(0, 1.3, order), 0);
    EXPECT_DOUBLE_EQ(StepRdp(1, 1.3, order), order / (2 * 1.3 * 1.3));
  }
  // ε at q = 1 is the minimum over the orders of the closed form, converted.
  const SG m{2, 1, 30};
  for (Conversion c : {Conversion::kClassic, Conversion::kBalle}) {
    double best = INFINITY;
    for (double a : DefaultOrders()) {
      const double rdp = 30 * a / (2 * 2 * 2);
      const double eps = c == Conversion::kClassic
                             ? rdp - std::log(1e-6) / (a - 1)
                             : rdp + std::log1p(-1 / a) - (std::log(1e-6) + std::log(a)) / (a - 1);
      best = std::min(best, eps);
    }
    EXPECT_NEAR(Epsilon(m, 1e-6, c), best, 1e-12 * best) << ConversionName(c);
  }
  // Integer orders near q = 1 agree with the closed form's limit.
  EXPECT_NEAR(StepRdp(1 - 1e-12, 1.3, 5), 5 / (2 * 1.3 * 1.3), 1e-9);
}

TEST(RdpAccountant, EpsilonGrowsWithStepsAndSampleRateAndFallsWithNoise) {
  for (Conversion c : {Conversion::kClassic, Conversion::kBalle}) {
    SCOPED_TRACE(ConversionName(c));
    double last = 0;
    for (std::uint64_t steps : {10, 100, 1000, 10000, 100000}) {
      const double eps = Epsilon(SG{1.1, 0.01, steps}, 1e-5, c);
      EXPECT_GT(eps, last) << steps << " steps";
      last = eps;
    }
    last = 0;
    for (double q : {1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0}) {
      const double eps = Epsilon(SG{1.1, q, 1000}, 1e-5, c);
      EXPECT_GT(eps, last) << "q " << q;
      last = eps;
    }
    last = INFINITY;
    for (double sigma : {0.3, 0.6, 1.0, 2.0, 4.0, 16.0}) {
      const double eps = Epsilon(SG{sigma, 0.01, 1000}, 1e-5, c);
      EXPECT_LT(eps, last) << "sigma " << sigma;
      last = eps;
    }
  }
  // Balle's conversion is never worse than the classic one.
  for (double sigma : {0.5, 1.0, 3.0}) {
    EXPECT_LE(Epsilon(SG{sigma, 0.02, 500}, 1e-5, Conversion::kBalle),
              Epsilon(SG{sigma, 0.02, 500}, 1e-5, Conversion::kClassic));
  }
}

TEST(RdpAccountant, NoiseSearchRoundTrips) {
  struct Case {
    NoiseRequest request;
    Conversion conversion;
  };
  for (const Case& c : {Case{{8, 1e-5, 0.04, 2250}, Conversion::kBalle},
                        Case{{1, 1e-5, 0.01, 10000}, Conversion::kClassic},
                        Case{{0.5, 1e-6, 0.001, 50000}, Conversion::kBalle},
                        Case{{3, 1e-5, 1.0, 1}, Conversion::kBalle},
                        Case{{2, 1e-3, 0.3, 40}, Conversion::kClassic}}) {
    const NoiseRequest& r = c.request;
    SCOPED_TRACE(fmt::format("eps {} delta {} q {} steps {} {}", r.epsilon, r.delta,
                             r.sample_rate, r.steps, ConversionName(c.conversion)));
    auto sigma = FindNoiseMultiplier(r, {.conversion = c.conversion});
    ASSERT_TRUE(sigma.ok()) << sigma.status().message();
    EXPECT_LE(Epsilon(SG{*sigma, r.sample_rate, r.steps}, r.delta, c.conversion), r.epsilon);
    EXPECT_GT(Epsilon(SG{*sigma * (1 - kNoiseTolerance), r.sample_rate, r.steps}, r.delta,
                      c.conversion),
              r.epsilon);
  }
}

void ExpectRefused(const Result<Guarantee>& r, const std::string& message) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message), std::string::npos) << r.status().message();
}

void ExpectRefused(const Result<double>& r, const std::string& message) {
  ASSERT_FALSE(r.ok()) << *r;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message), std::string::npos) << r.status().message();
}

TEST(RdpAccountant, InvalidInputsAreRefusedWithMessages) {
  ExpectRefused(ComputeEpsilon(SG{0, 0.1, 10}, 1e-5), "noise multiplier must be in [0.001, 10000], not 0");
  ExpectRefused(ComputeEpsilon(SG{1e5, 0.1, 10}, 1e-5), "not 100000");
  ExpectRefused(ComputeEpsilon(SG{NAN, 0.1, 10}, 1e-5), "noise multiplier must be");
  ExpectRefused(ComputeEpsilon(SG{1, 1.5, 10}, 1e-5), "sample rate must be in [0, 1], not 1.5");
  ExpectRefused(ComputeEpsilon(SG{1, 0.1, 0}, 1e-5), "steps must be at least 1");
  ExpectRefused(ComputeEpsilon(SG{1, 0.1, 10}, 0), "delta must be in (0, 1), not 0");
  ExpectRefused(ComputeEpsilon(SG{1, 0.1, 10}, 1), "delta must be in (0, 1), not 1");
  const std::vector<double> bad_orders = {2, 1};
  ExpectRefused(ComputeEpsilon(SG{1, 0.1, 10}, 1e-5, {.orders = bad_orders}),
                "RDP orders must be in (1, 10000], not 1");
  ExpectRefused(ComputeEpsilon(SG{1, 0.1, 10}, 1e-5, {.orders = {}}), "no RDP orders");

  ExpectRefused(FindNoiseMultiplier({0, 1e-5, 0.1, 10}), "epsilon must be a finite number > 0, not 0");
  ExpectRefused(FindNoiseMultiplier({-1, 1e-5, 0.1, 10}), "not -1");
  ExpectRefused(FindNoiseMultiplier({INFINITY, 1e-5, 0.1, 10}), "not inf");
  ExpectRefused(FindNoiseMultiplier({1, 2, 0.1, 10}), "delta must be in (0, 1), not 2");
  ExpectRefused(FindNoiseMultiplier({1, 1e-5, 0, 10}), "sample rate must be in (0, 1], not 0");
  ExpectRefused(FindNoiseMultiplier({1, 1e-5, 1.01, 10}), "sample rate must be in (0, 1], not 1.01");
  ExpectRefused(FindNoiseMultiplier({1, 1e-5, 0.1, 0}), "steps must be at least 1");
  // The conversion alone costs more than ε = 0.01 at δ = 1e-5 with orders up to 63.
  ExpectRefused(FindNoiseMultiplier({0.01, 1e-5, 0.1, 10}), "cannot be met by any noise");
  // Just above that floor, a trillion full-batch steps need far more noise than the cap.
  ExpectRefused(FindNoiseMultiplier({1, 1e-5, 1, 1'000'000'000'000}),
                "needs a noise multiplier above 10000");

  EXPECT_EQ(*ParseConversion("classic"), Conversion::kClassic);
  EXPECT_EQ(*ParseConversion("balle"), Conversion::kBalle);
  ASSERT_FALSE(ParseConversion("opacus").ok());
  EXPECT_EQ(ParseConversion("opacus").status().message(),
            "unknown conversion \"opacus\"; the conversions are balle, classic");
}

}  // namespace
}  // namespace ecps::privacy
