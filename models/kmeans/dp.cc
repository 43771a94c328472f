#include "models/kmeans/dp.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/kmeans/random.h"
#include "privacy/rdp_accountant.h"
#include "worker/csv.h"

namespace ecps::models::kmeans {
namespace {

constexpr std::uint64_t kInitRound = 1ull << 41;  // UniformCentroids' draws

std::optional<double> ParseFinite(std::string_view s) {
  auto v = worker::ParseDouble(s);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return v;
}

}  // namespace

Status ParseDpBounds(const std::vector<std::string>& specs, const std::vector<std::string>& names,
                     std::vector<double>* lo, std::vector<double>* hi) {
  lo->assign(names.size(), 0.0);
  hi->assign(names.size(), 0.0);
  std::vector<bool> seen(names.size(), false);
  for (const auto& spec : specs) {
    const auto eq = spec.rfind('=');
    const auto colon = eq == std::string::npos ? eq : spec.find(':', eq + 1);
    if (colon == std::string::npos) {
      return InvalidArgument(
          fmt::format("--dp-bounds: \"{}\" is not NAME=LO:HI (e.g. age=18:90)", spec));
    }
    const std::string name = spec.substr(0, eq);
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      return InvalidArgument(fmt::format("--dp-bounds: \"{}\" is not a feature (features: {})",
                                         name, fmt::join(names, ", ")));
    }
    const auto f = static_cast<std::size_t>(it - names.begin());
    if (seen[f]) return InvalidArgument(fmt::format("--dp-bounds: feature \"{}\" given twice", name));
    const auto l = ParseFinite(std::string_view(spec).substr(eq + 1, colon - eq - 1));
    const auto h = ParseFinite(std::string_view(spec).substr(colon + 1));
    if (!l || !h) {
      return InvalidArgument(
          fmt::format("--dp-bounds: feature \"{}\": \"{}\" needs two finite numbers LO:HI", name,
                      spec.substr(eq + 1)));
    }
    if (!(*l < *h)) {
      return InvalidArgument(
          fmt::format("--dp-bounds: feature \"{}\": LO {} must be below HI {}", name, *l, *h));
    }
    seen[f] = true;
    (*lo)[f] = *l;
    (*hi)[f] = *h;
  }
  for (std::size_t f = 0; f < names.size(); ++f) {
    if (!seen[f]) {
      return InvalidArgument(fmt::format(
          "--dp-bounds: feature \"{}\" has no bounds (under DP every feature needs NAME=LO:HI; "
          "the data's own min/max would leak)",
          names[f]));
    }
  }
  return Status::Ok();
}

double DpNoisePlan::sum_stddev() const { return sigma_sum * std::sqrt(static_cast<double>(d)); }

Result<double> DpNoisePlan::EpsilonAfter(int t) const {
  privacy::SampledGaussian m;
  m.noise_multiplier = sigma;
  m.sample_rate = 1;
  m.steps = static_cast<std::uint64_t>(t);
  ECPS_ASSIGN_OR_RETURN(const privacy::Guarantee g, privacy::ComputeEpsilon(m, delta));
  return g.epsilon;
}

Result<DpNoisePlan> PlanDpNoise(const DpKMeansOptions& options, int iterations, std::size_t d) {
  privacy::NoiseRequest request;
  request.epsilon = options.epsilon;
  request.delta = options.delta;
  request.sample_rate = 1;  // every user takes part in every iteration
  request.steps = static_cast<std::uint64_t>(iterations);
  auto sigma = privacy::FindNoiseMultiplier(request);
  if (!sigma.ok()) {
    return InvalidArgument(fmt::format(
        "--dp-epsilon {} --dp-delta {} over {} iteration(s) (--max-iter): {}; raise --dp-epsilon "
        "or lower --max-iter",
        options.epsilon, options.delta, iterations, sigma.status().message()));
  }
  DpNoisePlan plan;
  plan.iterations = iterations;
  plan.d = d;
  plan.delta = options.delta;
  plan.count_share = options.count_share;
  plan.sigma = *sigma;
  plan.sigma_count = plan.sigma / std::sqrt(options.count_share);
  plan.sigma_sum = plan.sigma / std::sqrt(1 - options.count_share);
  return plan;
}

// ---- DpStatsFinalizer ----------------------------------------------------------------------

DpStatsFinalizer::DpStatsFinalizer(const DpNoisePlan& plan,
                                   std::optional<privacy::GaussianNoise> noise,
                                   std::optional<std::uint64_t> test_seed)
    : d_(plan.d), count_stddev_(plan.sigma_count), sum_stddev_(plan.sum_stddev()),
      noise_(std::move(noise)), test_seed_(test_seed) {}

void DpStatsFinalizer::Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                                std::span<double> values) {
  if (!noise_) {  // test seed: each server its own replayable stream
    noise_ = privacy::GaussianNoise::FromTestSeed(
        Mix64(*test_seed_ ^ Mix64(static_cast<std::uint64_t>(ctx.server_index) + 1)));
  }
  const std::size_t w = ctx.width, d = d_, rows = ctx.range.size();
  std::copy(aggregate.begin(), aggregate.begin() + static_cast<std::ptrdiff_t>(rows * w),
            values.begin());
  counts_.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) counts_[r] = values[r * w + d];
  noise_->AddTo(counts_, count_stddev_);
  for (std::size_t r = 0; r < rows; ++r) {
    double* v = values.data() + r * w;
    noise_->AddTo(std::span<double>(v, d), sum_stddev_);
    if (counts_[r] < sum_stddev_) {
      // The mean's noise would be wider than the box: a fresh uniform centroid instead
      // (post-processing of the noisy count; no data involved).
      noise_->Standard(std::span<double>(v, d));
      for (std::size_t f = 0; f < d; ++f) v[f] = 0.5 * std::erfc(-v[f] / std::sqrt(2.0));
    } else {
      for (std::size_t f = 0; f < d; ++f) v[f] = std::clamp(v[f] / counts_[r], 0.0, 1.0);
    }
    v[d] = counts_[r];
  }
}

// ---- Initialisation and reporting -------------------------------------------------------------

std::vector<double> UniformCentroids(std::size_t k, std::size_t d, std::uint64_t seed) {
  std::vector<double> c(k * d);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = UniformFor(seed, kInitRound, i);
  return c;
}

nlohmann::json DpPrivacyJson(const DpNoisePlan& plan, double epsilon_spent,
                             const std::vector<std::string>& names, const std::vector<double>& lo,
                             const std::vector<double>& hi, bool test_seed) {
  nlohmann::json bounds = nlohmann::json::object();
  for (std::size_t f = 0; f < names.size(); ++f) bounds[names[f]] = {lo[f], hi[f]};
  return {{"epsilon", epsilon_spent},
          {"delta", plan.delta},
          {"noise_multiplier", plan.sigma},
          {"noise_multiplier_count", plan.sigma_count},
          {"noise_multiplier_sum", plan.sigma_sum},
          {"count_stddev", plan.sigma_count},
          {"sum_stddev", plan.sum_stddev()},
          {"sum_sensitivity", std::sqrt(static_cast<double>(plan.d))},
          {"count_share", plan.count_share},
          {"sample_rate", 1.0},
          {"steps", plan.iterations},
          {"iterations", plan.iterations},
          {"bounds", bounds},
          {"neighbouring", "add/remove one user"},
          {"accountant", "rdp"},
          {"conversion", "balle"},
          {"test_seed", test_seed}};
}

}  // namespace ecps::models::kmeans
