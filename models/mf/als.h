// The arithmetic of implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008),
// independent of where the factors live. With confidence c = 1 + alpha * r for an observed
// interaction of value r (1 for implicit data) and preference p = 1, a row's factors solve
//
//   (G + lambda I + sum_{j in row} (c_j - 1) y_j y_j^T) x = sum_{j in row} c_j y_j,
//
// where G = Y^T Y is the Gram matrix of the other side's factors (all of them: unobserved
// entries have c = 1, p = 0). The same solve serves users (Y = item factors) and items
// (Y = user factors). Factors are row-major doubles, `f` per row.
#pragma once

#include <cstdint>
#include <span>

#include <Eigen/Dense>

namespace ecps::models::mf {

/// The upper triangle of Y^T Y over `rows` rows of `f` factors, row-major (f (f + 1) / 2
/// values), summed in row order: the same bits for the same rows.
void AddGram(std::span<const double> y, std::size_t f, std::span<double> upper);

/// The full symmetric matrix of an upper triangle written by AddGram.
Eigen::MatrixXd GramFromUpper(std::span<const double> upper, std::size_t f);

/// Solves one row's normal equations (file comment) into `x` (f values): `gram_reg` is
/// G + lambda I, `y` the other side's factors (indexed by `cols`), `values` the interaction
/// values (empty: all 1). Sums run in the order of `cols`. Uses a Cholesky factorisation
/// (LDLT); `scratch_a`/`scratch_b` are caller-kept buffers of the right size after the
/// first call.
void SolveRow(const Eigen::MatrixXd& gram_reg, std::span<const double> y, std::size_t f,
              std::span<const std::uint32_t> cols, std::span<const float> values, double alpha,
              std::span<double> x, Eigen::MatrixXd* scratch_a, Eigen::VectorXd* scratch_b);

/// Explicit ALS (rating prediction; Zhou et al. 2008, Spark's explicit ALS): solves
///   (lambda n I + sum_{j in row} y_j y_j^T) x = sum_{j in row} e_j y_j
/// into `x`, n = cols.size() and e_j = `values` (the row's ratings less their baseline, one
/// per col). Only the observed entries enter; a row without any gets x = 0. Sums run in the
/// order of `cols`; scratch buffers as SolveRow's.
void SolveRowExplicit(std::span<const double> y, std::size_t f, std::span<const std::uint32_t> cols,
                      std::span<const double> values, double lambda, std::span<double> x,
                      Eigen::MatrixXd* scratch_a, Eigen::VectorXd* scratch_b);

/// The initial value of factor `k` of row `row` under `seed`: uniform in [0, 0.01) as
/// implicit's initialisation, a function of (seed, row, k) only.
double InitialFactor(std::uint64_t seed, std::uint64_t row, std::size_t k);

/// The explicit model's initial factor: uniform in [-0.5, 0.5) / sqrt(f), from the same hash
/// (zero-mean and of unit scale: ALS on residuals starts away from the fixed point 0).
double ExplicitInitialFactor(std::uint64_t seed, std::uint64_t row, std::size_t k, std::size_t f);

}  // namespace ecps::models::mf
