// The optimisers of logistic regression as server-side rules (ps/rules.h): SGD, AdaGrad and
// FTRL-Proximal. The pushed values are gradients; each rule keeps its per-coordinate state
// beside the weights.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

#include "ps/rules.h"

namespace ecps::models::lr {

/// value -= learning_rate * pushed (the pushed values are gradients).
template <class T>
class SgdRule final : public ps::Rule<T> {
 public:
  explicit SgdRule(double learning_rate) : lr_(static_cast<T>(learning_rate)) {}
  std::string name() const override { return "sgd"; }
  void Apply(const ps::RowSpan<T>& rows, const T* pushed) override {
    const std::size_t w = rows.width;
    const T lr = lr_;
    rows.ForEach(pushed, [w, lr](T* v, T*, const T* g) {
      for (std::size_t j = 0; j < w; ++j) v[j] -= lr * g[j];
    });
  }
  void set_learning_rate(double lr) { lr_ = static_cast<T>(lr); }

 private:
  T lr_;
};

/// AdaGrad (Duchi et al. 2011): accumulates squared gradients per coordinate and scales the
/// step by 1/sqrt(sum). State: the accumulator (width values).
template <class T>
class AdaGradRule final : public ps::Rule<T> {
 public:
  AdaGradRule(double learning_rate, double initial_accumulator = 1e-6)
      : lr_(static_cast<T>(learning_rate)), init_(static_cast<T>(initial_accumulator)) {}
  std::string name() const override { return "adagrad"; }
  std::size_t StateWidth(std::size_t width) const override { return width; }
  void Apply(const ps::RowSpan<T>& rows, const T* pushed) override {
    const std::size_t w = rows.width;
    const T lr = lr_, init = init_;
    rows.ForEach(pushed, [w, lr, init](T* v, T* acc, const T* g) {
      for (std::size_t j = 0; j < w; ++j) {
        acc[j] += g[j] * g[j];
        v[j] -= lr * g[j] / std::sqrt(acc[j] + init);
      }
    });
  }

 private:
  T lr_;
  T init_;
};

/// FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD 2013)
/// with per-coordinate learning rates. State per coordinate: z and n. The visible value is the
/// weight, recomputed after each update, so pulls need no extra work; lambda1 > 0 gives
/// weights that are exactly zero.
struct FtrlParams {
  double alpha = 0.1;
  double beta = 1.0;
  double lambda1 = 0.0;
  double lambda2 = 0.0;
};

/// FtrlRule<float>::Apply on n consecutive coordinates of width 1 (state z, n interleaved in
/// `state`): the same arithmetic, in a loop the compiler vectorises (optimizers.cc).
void FtrlDense(float* values, float* state, const float* pushed, std::size_t n, const FtrlParams& p);

template <class T>
class FtrlRule final : public ps::Rule<T> {
 public:
  explicit FtrlRule(FtrlParams p) : p_(p) {}
  std::string name() const override { return "ftrl"; }
  std::size_t StateWidth(std::size_t width) const override { return 2 * width; }
  void Apply(const ps::RowSpan<T>& rows, const T* pushed) override {
    const std::size_t w = rows.width;
    const FtrlParams p = p_;
    if constexpr (std::is_same_v<T, float>) {
      if (rows.keys == nullptr && w == 1) {  // a dense range (DP-SGD updates every key)
        const auto first = static_cast<std::size_t>(rows.range_begin - rows.base);
        return FtrlDense(rows.values + first, rows.state + 2 * first, pushed, rows.n, p);
      }
    }
    rows.ForEach(pushed, [w, p](T* v, T* st, const T* g) {
      for (std::size_t j = 0; j < w; ++j) {
        T& z = st[2 * j];
        T& n = st[2 * j + 1];
        const double gj = g[j];
        const double sigma = (std::sqrt(n + gj * gj) - std::sqrt(double(n))) / p.alpha;
        z += static_cast<T>(gj - sigma * v[j]);
        n += static_cast<T>(gj * gj);
        v[j] = static_cast<T>(Weight(z, n, p));
      }
    });
  }
  /// Apply's update on n consecutive coordinates of width 1 (the same arithmetic, branch-free).
  /// The FTRL-Proximal closed form for one coordinate.
  static double Weight(double z, double n, const FtrlParams& p) {
    if (std::fabs(z) <= p.lambda1) return 0.0;
    const double sign = z < 0 ? -1.0 : 1.0;
    return -(z - sign * p.lambda1) / ((p.beta + std::sqrt(n)) / p.alpha + p.lambda2);
  }

 private:
  FtrlParams p_;
};

}  // namespace ecps::models::lr
