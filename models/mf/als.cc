#include "models/mf/als.h"

#include <algorithm>
#include <cmath>

#include "models/cf/split.h"

namespace ecps::models::mf {

void AddGram(std::span<const double> y, std::size_t f, std::span<double> upper) {
  const std::size_t rows = f == 0 ? 0 : y.size() / f;
  for (std::size_t r = 0; r < rows; ++r) {
    const double* v = y.data() + r * f;
    std::size_t t = 0;
    for (std::size_t a = 0; a < f; ++a) {
      const double va = v[a];
      for (std::size_t b = a; b < f; ++b) upper[t++] += va * v[b];
    }
  }
}

Eigen::MatrixXd GramFromUpper(std::span<const double> upper, std::size_t f) {
  const auto n = static_cast<Eigen::Index>(f);
  Eigen::MatrixXd g(n, n);
  std::size_t t = 0;
  for (Eigen::Index a = 0; a < n; ++a) {
    for (Eigen::Index b = a; b < n; ++b) {
      g(a, b) = upper[t];
      g(b, a) = upper[t];
      ++t;
    }
  }
  return g;
}

void SolveRow(const Eigen::MatrixXd& gram_reg, std::span<const double> y, std::size_t f,
              std::span<const std::uint32_t> cols, std::span<const float> values, double alpha,
              std::span<double> x, Eigen::MatrixXd* scratch_a, Eigen::VectorXd* scratch_b) {
  const auto n = static_cast<Eigen::Index>(f);
  Eigen::MatrixXd& a = *scratch_a;
  Eigen::VectorXd& b = *scratch_b;
  a = gram_reg;
  b.setZero(n);
  for (std::size_t t = 0; t < cols.size(); ++t) {
    const double r = values.empty() ? 1.0 : static_cast<double>(values[t]);
    const double c = 1.0 + alpha * r;
    const Eigen::Map<const Eigen::VectorXd> v(y.data() + std::size_t{cols[t]} * f, n);
    a.selfadjointView<Eigen::Upper>().rankUpdate(v, c - 1.0);
    b.noalias() += c * v;
  }
  const Eigen::VectorXd sol = a.selfadjointView<Eigen::Upper>().ldlt().solve(b);
  for (Eigen::Index k = 0; k < n; ++k) x[static_cast<std::size_t>(k)] = sol(k);
}

void SolveRowExplicit(std::span<const double> y, std::size_t f, std::span<const std::uint32_t> cols,
                      std::span<const double> values, double lambda, std::span<double> x,
                      Eigen::MatrixXd* scratch_a, Eigen::VectorXd* scratch_b) {
  const auto n = static_cast<Eigen::Index>(f);
  if (cols.empty()) {
    std::fill(x.begin(), x.begin() + n, 0.0);
    return;
  }
  Eigen::MatrixXd& a = *scratch_a;
  Eigen::VectorXd& b = *scratch_b;
  a.setZero(n, n);
  a.diagonal().setConstant(lambda * static_cast<double>(cols.size()));
  b.setZero(n);
  for (std::size_t t = 0; t < cols.size(); ++t) {
    const Eigen::Map<const Eigen::VectorXd> v(y.data() + std::size_t{cols[t]} * f, n);
    a.selfadjointView<Eigen::Upper>().rankUpdate(v, 1.0);
    b.noalias() += values[t] * v;
  }
  const Eigen::VectorXd sol = a.selfadjointView<Eigen::Upper>().ldlt().solve(b);
  for (Eigen::Index k = 0; k < n; ++k) x[static_cast<std::size_t>(k)] = sol(k);
}

double InitialFactor(std::uint64_t seed, std::uint64_t row, std::size_t k) {
  return 0.01 * cf::UnitHash(seed ^ 0x3F5A1E0DULL, row, k);
}

double ExplicitInitialFactor(std::uint64_t seed, std::uint64_t row, std::size_t k, std::size_t f) {
  return (cf::UnitHash(seed ^ 0x3F5A1E0DULL, row, k) - 0.5) / std::sqrt(static_cast<double>(f));
}

}  // namespace ecps::models::mf
