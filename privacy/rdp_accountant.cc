#include "privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace ecps::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A series' terms smaller than its sum times e^-kNegligible (about 2e-16) are left out.
constexpr double kNegligible = 36;
// The fractional-order series stops here at the latest (it needs ~1e5 terms in the worst
// case: q near 1/2 at the order closest to 1); a sum cut here counts as infinite.
constexpr int kMaxTerms = 10'000'000;

// log(e^a + e^b + ...) of terms given as logarithms, without overflow: the running maximum
// and the sum of e^(term - maximum).
class LogSum {
 public:
  void Add(double log_term) {
    if (log_term == -kInf) return;
    if (log_term <= max_) {
      scaled_ += std::exp(log_term - max_);
    } else {
      scaled_ = scaled_ * std::exp(max_ - log_term) + 1;
      max_ = log_term;
    }
  }
  double Log() const { return scaled_ == 0 ? -kInf : max_ + std::log(scaled_); }

 private:
  double max_ = -kInf;
  double scaled_ = 0;
};

// log(e^a − e^b), or nothing when b >= a (a difference that rounding made non-positive).
std::optional<double> LogDifference(double a, double b) {
  if (b == -kInf) return a;
  if (b >= a) return std::nullopt;
  return a + std::log1p(-std::exp(b - a));
}

// log(erfc(x)), also where erfc(x) underflows: beyond x = 26 (erfc(26) ~ 6e-296) the
// asymptotic series erfc(x) = e^(−x²)/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − ...), whose first
// omitted term is below 2e-15 there.
double LogErfc(double x) {
  if (x < 26) return std::log(std::erfc(x));
  const double y = 1 / (2 * x * x);  // each term is the previous one times −(2k − 1)·y
  const double series = -y + 3 * y * y - 15 * y * y * y + 105 * y * y * y * y -
                        945 * y * y * y * y * y;
  return -x * x - std::log(x) - 0.5 * std::log(std::numbers::pi) + std::log1p(series);
}

// log A_α for integer α >= 2 (Mironov et al. 2019, Sec. 3.3): A_α = Σ_{k=0..α} C(α, k)
// (1 − q)^(α−k) q^k exp((k² − k) / (2σ²)); every term is positive.
double LogAInteger(double q, double sigma, int alpha) {
  const double log_q = std::log(q), log_1mq = std::log1p(-q), two_var = 2 * sigma * sigma;
  LogSum sum;
  double log_binomial = 0;  // log C(α, k)
  for (int k = 0; k <= alpha; ++k) {
    sum.Add(log_binomial + k * log_q + (alpha - k) * log_1mq + (double(k) * k - k) / two_var);
    log_binomial += std::log(double(alpha - k)) - std::log(double(k + 1));
  }
  return sum.Log();
}

// log A_α for fractional α > 1 (Mironov et al. 2019, Sec. 3.3): A_α = A₀ + A₁ with, for
// z₀ = σ² log(1/q − 1) + 1/2,
//   A₀ = Σ_{k>=0} C(α, k) (1 − q)^(α−k) q^k     exp((k² − k)/(2σ²)) · erfc((k − z₀)/(√2 σ))/2
//   A₁ = Σ_{k>=0} C(α, k) (1 − q)^k     q^(α−k) exp(((α−k)² − (α−k))/(2σ²))
//                                                            · erfc((z₀ − (α−k))/(√2 σ))/2.
// C(α, k) alternates in sign once k > α; positive and negative terms are summed apart in log
// space. The sum stops once k > α + 1 and a term is negligible against the sum so far (the
// tail alternates with shrinking terms, so it is smaller than that term). Infinity when the
// series cannot be summed.
double LogAFractional(double q, double sigma, double alpha) {
  const double log_q = std::log(q), log_1mq = std::log1p(-q), two_var = 2 * sigma * sigma;
  const double z0 = sigma * sigma * (log_1mq - log_q) + 0.5;
  const double erfc_scale = std::numbers::sqrt2 * sigma;
  LogSum positive, negative;
  double log_binomial = 0;  // log |C(α, k)|
  bool binomial_negative = false;
  for (int k = 0; k < kMaxTerms; ++k) {
    const double j = alpha - k;
    const double log_half = -std::numbers::ln2;
    const double term0 = log_binomial + k * log_q + j * log_1mq + (double(k) * k - k) / two_var +
                         log_half + LogErfc((k - z0) / erfc_scale);
    const double term1 = log_binomial + j * log_q + k * log_1mq + (j * j - j) / two_var +
                         log_half + LogErfc((z0 - j) / erfc_scale);
    LogSum& sum = binomial_negative ? negative : positive;
    sum.Add(term0);
    sum.Add(term1);
    if (k > alpha + 1 && std::max(term0, term1) < positive.Log() - kNegligible) {
      return LogDifference(positive.Log(), negative.Log()).value_or(kInf);
    }
    // C(α, k+1) = C(α, k) · (α − k) / (k + 1); α − k is never 0 for fractional α.
    log_binomial += std::log(std::abs(j)) - std::log(k + 1.0);
    if (j < 0) binomial_negative = !binomial_negative;
  }
  return kInf;
}

// "0.5" for messages: the shortest text that reads back as the same double.
std::string Number(double v) { return fmt::format("{}", v); }

Status CheckOrders(std::span<const double> orders) {
  if (orders.empty()) return InvalidArgument("no RDP orders given");
  for (double order : orders) {
    if (!(order > 1 && order <= kMaxOrder)) {
      return InvalidArgument(fmt::format("RDP orders must be in (1, {}], not {}",
                                         Number(kMaxOrder), Number(order)));
    }
  }
  return Status::Ok();
}

Status CheckDelta(double delta) {
  if (!(delta > 0 && delta < 1)) {
    return InvalidArgument(fmt::format("delta must be in (0, 1), not {}", Number(delta)));
  }
  return Status::Ok();
}

Status CheckSteps(std::uint64_t steps) {
  if (steps < 1) return InvalidArgument("steps must be at least 1, not 0");
  return Status::Ok();
}

// ε at one order (at least 0: a guarantee with a smaller ε also holds with 0).
double EpsilonAtOrder(double order, double rdp, double log_delta, Conversion conversion) {
  double epsilon = 0;
  switch (conversion) {
    case Conversion::kClassic:
      epsilon = rdp - log_delta / (order - 1);
      break;
    case Conversion::kBalle:
      epsilon = rdp + std::log1p(-1 / order) - (log_delta + std::log(order)) / (order - 1);
      break;
  }
  return std::max(epsilon, 0.0);
}

}  // namespace

std::string_view ConversionName(Conversion conversion) {
  switch (conversion) {
    case Conversion::kBalle: return "balle";
    case Conversion::kClassic: return "classic";
  }
  return "unknown";
}

Result<Conversion> ParseConversion(std::string_view name) {
  for (Conversion c : {Conversion::kBalle, Conversion::kClassic}) {
    if (name == ConversionName(c)) return c;
  }
  return InvalidArgument(
      fmt::format("unknown conversion \"{}\"; the conversions are balle, classic", name));
}

const std::vector<double>& DefaultOrders() {
  static const std::vector<double> orders = [] {
    std::vector<double> o;
    for (int k = 1; k < 100; ++k) o.push_back(1 + k / 10.0);  // 1.1 ... 10.9, as Opacus
    for (int a = 12; a < 64; ++a) o.push_back(a);
    return o;
  }();
  return orders;
}

double StepRdp(double sample_rate, double noise_multiplier, double order) {
  if (sample_rate == 0) return 0;
  if (sample_rate == 1) return order / (2 * noise_multiplier * noise_multiplier);
  const double log_a = order == std::floor(order)
                           ? LogAInteger(sample_rate, noise_multiplier, int(order))
                           : LogAFractional(sample_rate, noise_multiplier, order);
  return std::max(log_a, 0.0) / (order - 1);  // A_α >= 1; rounding may put log A_α below 0
}

std::vector<double> ComposedRdp(const SampledGaussian& mechanism, std::span<const double> orders) {
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (double order : orders) {
    rdp.push_back(double(mechanism.steps) *
                  StepRdp(mechanism.sample_rate, mechanism.noise_multiplier, order));
  }
  return rdp;
}

Result<Guarantee> RdpToGuarantee(std::span<const double> orders, std::span<const double> rdp,
                                 double delta, Conversion conversion) {
  ECPS_RETURN_IF_ERROR(CheckDelta(delta));
  ECPS_RETURN_IF_ERROR(CheckOrders(orders));
  if (rdp.size() != orders.size()) {
    return InvalidArgument(fmt::format("{} RDP values for {} orders", rdp.size(), orders.size()));
  }
  Guarantee best{kInf, delta, 0};
  const double log_delta = std::log(delta);
  for (std::size_t i = 0; i < orders.size(); ++i) {
    if (!(rdp[i] >= 0) || rdp[i] == kInf) continue;
    const double epsilon = EpsilonAtOrder(orders[i], rdp[i], log_delta, conversion);
    if (epsilon < best.epsilon) best = {epsilon, delta, orders[i]};
  }
  if (best.epsilon == kInf) {
    return InvalidArgument("the RDP is infinite at every order: no (epsilon, delta) guarantee");
  }
  return best;
}

Result<Guarantee> ComputeEpsilon(const SampledGaussian& mechanism, double delta,
                                 const Accounting& accounting) {
  const double sigma = mechanism.noise_multiplier, q = mechanism.sample_rate;
  if (!(sigma >= kMinNoiseMultiplier && sigma <= kMaxNoiseMultiplier)) {
    return InvalidArgument(fmt::format("noise multiplier must be in [{}, {}], not {}",
                                       Number(kMinNoiseMultiplier), Number(kMaxNoiseMultiplier),
                                       Number(sigma)));
  }
  if (!(q >= 0 && q <= 1)) {
    return InvalidArgument(fmt::format("sample rate must be in [0, 1], not {}", Number(q)));
  }
  ECPS_RETURN_IF_ERROR(CheckSteps(mechanism.steps));
  ECPS_RETURN_IF_ERROR(CheckDelta(delta));
  ECPS_RETURN_IF_ERROR(CheckOrders(accounting.orders));
  return RdpToGuarantee(accounting.orders, ComposedRdp(mechanism, accounting.orders), delta,
                        accounting.conversion);
}

Result<double> FindNoiseMultiplier(const NoiseRequest& request, const Accounting& accounting) {
  if (!(request.epsilon > 0 && std::isfinite(request.epsilon))) {
    return InvalidArgument(
        fmt::format("epsilon must be a finite number > 0, not {}", Number(request.epsilon)));
  }
  ECPS_RETURN_IF_ERROR(CheckDelta(request.delta));
  if (!(request.sample_rate > 0 && request.sample_rate <= 1)) {
    return InvalidArgument(
        fmt::format("sample rate must be in (0, 1], not {}", Number(request.sample_rate)));
  }
  ECPS_RETURN_IF_ERROR(CheckSteps(request.steps));
  ECPS_RETURN_IF_ERROR(CheckOrders(accounting.orders));
  const std::vector<double> no_rdp(accounting.orders.size(), 0.0);
  ECPS_ASSIGN_OR_RETURN(const Guarantee floor, RdpToGuarantee(accounting.orders, no_rdp,
                                                              request.delta,
                                                              accounting.conversion));
  if (request.epsilon <= floor.epsilon) {
    return InvalidArgument(fmt::format(
        "epsilon {} at delta {} cannot be met by any noise: the {} conversion alone costs "
        "epsilon {:.6g} at these orders (ask for a larger epsilon or delta)",
        Number(request.epsilon), Number(request.delta), ConversionName(accounting.conversion),
        floor.epsilon));
  }
  const SampledGaussian base{1, request.sample_rate, request.steps};
  // ε at σ, infinite where no order gives a guarantee (far too little noise).
  auto epsilon_at = [&](double sigma) {
    SampledGaussian m = base;
    m.noise_multiplier = sigma;
    const auto g = RdpToGuarantee(accounting.orders, ComposedRdp(m, accounting.orders),
                                  request.delta, accounting.conversion);
    return g.ok() ? g->epsilon : kInf;
  };
  auto meets = [&](double sigma) { return epsilon_at(sigma) <= request.epsilon; };
  // Bracket: ε(low) > target >= ε(high), halving or doubling from σ = 1.
  double low = 1, high = 1;
  if (meets(1)) {
    for (;;) {  // meets(high)
      if (high <= kMinNoiseMultiplier) return kMinNoiseMultiplier;
      low = std::max(high / 2, kMinNoiseMultiplier);
      if (!meets(low)) break;
      high = low;
    }
  } else {
    for (;;) {  // !meets(low)
      if (low >= kMaxNoiseMultiplier) {
        return InvalidArgument(fmt::format(
            "epsilon {} at delta {} over {} steps at sample rate {} needs a noise multiplier "
            "above {} (epsilon there is {:.6g}); ask for a larger epsilon or delta, fewer "
            "steps or a smaller sample rate",
            Number(request.epsilon), Number(request.delta), request.steps,
            Number(request.sample_rate), Number(kMaxNoiseMultiplier),
            epsilon_at(kMaxNoiseMultiplier)));
      }
      high = std::min(low * 2, kMaxNoiseMultiplier);
      if (meets(high)) break;
      low = high;
    }
  }
  // Bisect: ε is decreasing in σ.
  while (high - low > kNoiseTolerance * high) {
    const double mid = low + (high - low) / 2;
    (meets(mid) ? high : low) = mid;
  }
  return high;
}

}  // namespace ecps::privacy
