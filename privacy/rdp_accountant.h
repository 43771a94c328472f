// Rényi-DP (RDP) accountant for the sampled Gaussian mechanism, the step of DP-SGD: each step
// every record joins the batch independently with probability q (Poisson sampling), and
// Gaussian noise of standard deviation σ·C is added to the batch's sum of per-record
// contributions clipped to L2 norm C (σ: the noise multiplier).
//
// - RDP of one step at order α: Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of
//   the Sampled Gaussian Mechanism" (arXiv:1908.10530), Section 3.3: the binomial expansion
//   for integer α, the two-series expansion for fractional α; both summed in log space.
//   T steps compose to T times that (RDP composition).
// - (ε, δ) from RDP at several orders: the smallest over the orders of
//   classic (Mironov 2017, Prop. 3):  ε = rdp − log δ / (α − 1), or
//   balle (Balle et al. 2020, "Hypothesis testing interpretations and Rényi differential
//   privacy", Thm. 21; the conversion Opacus uses):
//                                     ε = rdp + log1p(−1/α) − (log δ + log α) / (α − 1).
// - The noise search: the smallest σ whose ε meets a budget (ε is decreasing in σ).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ps/status.h"

namespace ecps::privacy {

/// How RDP at several orders becomes an (ε, δ) guarantee.
enum class Conversion {
  kBalle,    ///< Balle et al. 2020 (Opacus); never larger than classic
  kClassic,  ///< Mironov 2017 (TF Privacy before 2020)
};

/// "balle" or "classic".
std::string_view ConversionName(Conversion conversion);
/// The conversion of that name; an error that lists the names otherwise.
Result<Conversion> ParseConversion(std::string_view name);

/// The orders 1.1, 1.2, ..., 10.9 (each 1 + k/10) and 12, 13, ..., 63 (Opacus' default).
const std::vector<double>& DefaultOrders();

/// The largest noise multiplier the accountant computes with and the noise search returns:
/// beyond it a step's RDP is below the precision of the sums (and no training learns).
inline constexpr double kMaxNoiseMultiplier = 1e4;
/// The smallest noise multiplier the accountant computes with (below it the terms of the
/// series overflow); the noise search returns it for a budget that a smaller σ would meet.
inline constexpr double kMinNoiseMultiplier = 1e-3;
/// The noise search returns σ* with ε(σ*) <= ε and ε(σ*·(1 − kNoiseTolerance)) > ε.
inline constexpr double kNoiseTolerance = 1e-7;
/// Orders are finite numbers in (1, kMaxOrder].
inline constexpr double kMaxOrder = 1e4;

/// T steps of the sampled Gaussian mechanism.
struct SampledGaussian {
  double noise_multiplier = 1;  ///< σ in [kMinNoiseMultiplier, kMaxNoiseMultiplier]
  double sample_rate = 0;       ///< q in [0, 1]: each record's chance to join a step
  std::uint64_t steps = 1;      ///< T >= 1
};

/// Which orders the accountant minimises over and how it converts.
struct Accounting {
  Conversion conversion = Conversion::kBalle;
  std::span<const double> orders = DefaultOrders();  ///< each in (1, kMaxOrder]; not empty
};

/// An (ε, δ) guarantee, with the order that gave ε.
struct Guarantee {
  double epsilon = 0;
  double delta = 0;
  double order = 0;
};

/// RDP of one step at `order` (> 1) for q in [0, 1] and σ in [kMinNoiseMultiplier,
/// kMaxNoiseMultiplier]: 0 for q = 0, α/(2σ²) for q = 1. +infinity where the series cannot be
/// summed in double precision, which makes the order useless to the conversion, never
/// optimistic.
double StepRdp(double sample_rate, double noise_multiplier, double order);

/// RDP of all of `mechanism`'s steps at each of `orders` (not checked: see ComputeEpsilon).
std::vector<double> ComposedRdp(const SampledGaussian& mechanism, std::span<const double> orders);

/// The (ε, δ) guarantee that RDP values `rdp` at `orders` give, the smallest over the orders
/// (ties: the smaller order); ε is at least 0. Refuses δ outside (0, 1) and RDP that is
/// infinite at every order.
Result<Guarantee> RdpToGuarantee(std::span<const double> orders, std::span<const double> rdp,
                                 double delta, Conversion conversion);

/// The ε that `mechanism` spends at `delta`. Refuses (with a message naming the value) σ
/// outside [kMinNoiseMultiplier, kMaxNoiseMultiplier], q outside [0, 1], T < 1, δ outside
/// (0, 1), bad orders.
Result<Guarantee> ComputeEpsilon(const SampledGaussian& mechanism, double delta,
                                 const Accounting& accounting = {});

/// What the noise search is asked for.
struct NoiseRequest {
  double epsilon = 1;       ///< > 0
  double delta = 1e-5;      ///< in (0, 1)
  double sample_rate = 0;   ///< in (0, 1]
  std::uint64_t steps = 1;  ///< >= 1
};

/// The smallest noise multiplier σ (to kNoiseTolerance, and at least kMinNoiseMultiplier) for
/// which `request.steps` steps at `request.sample_rate` spend at most `request.epsilon` at
/// `request.delta`. Refuses invalid values, a budget no noise can meet (the conversion alone
/// costs more than ε at these orders), and one that needs σ above kMaxNoiseMultiplier.
Result<double> FindNoiseMultiplier(const NoiseRequest& request, const Accounting& accounting = {});

}  // namespace ecps::privacy
