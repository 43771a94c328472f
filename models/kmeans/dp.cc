#include "models/kmeans/dp.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/kmeans/local_kmeans.h"
#include "models/kmeans/random.h"
#include "privacy/rdp_accountant.h"
#include "worker/csv.h"

namespace ecps::models::kmeans {
namespace {

constexpr std::uint64_t kInitRound = 1ull << 41;  // UniformCentroids' draws

// Replayable noise for --dp-seed: each server and table its own stream.
privacy::GaussianNoise TestNoise(std::uint64_t seed, const ps::FinalizeContext& ctx) {
  return privacy::GaussianNoise::FromTestSeed(
      Mix64(seed ^ Mix64(static_cast<std::uint64_t>(ctx.server_index) + 1) ^ Mix64(ctx.table)));
}

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
    if (seen[f]) {
      return InvalidArgument(fmt::format("--dp-bounds: feature \"{}\" given twice", name));
    }
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
  m.steps = static_cast<std::uint64_t>(t + init_steps);
  ECPS_ASSIGN_OR_RETURN(const privacy::Guarantee g, privacy::ComputeEpsilon(m, delta));
  return g.epsilon;
}

Result<DpNoisePlan> PlanDpNoise(const DpKMeansOptions& options, int iterations, std::size_t d,
                                int init_steps) {
  privacy::NoiseRequest request;
  request.epsilon = options.epsilon;
  request.delta = options.delta;
  request.sample_rate = 1;  // every user takes part in every iteration
  request.steps = static_cast<std::uint64_t>(iterations + init_steps);
  auto sigma = privacy::FindNoiseMultiplier(request);
  if (!sigma.ok()) {
    return InvalidArgument(fmt::format(
        "--dp-epsilon {} --dp-delta {} over {} iteration(s) (--max-iter): {}; raise --dp-epsilon "
        "or lower --max-iter",
        options.epsilon, options.delta, iterations, sigma.status().message()));
  }
  DpNoisePlan plan;
  plan.iterations = iterations;
  plan.init_steps = init_steps;
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
  if (!noise_) noise_ = TestNoise(*test_seed_, ctx);
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

DpGrid DpGrid::For(std::size_t d) {
  DpGrid g;
  g.d = d;
  std::size_t per = 2, cells = 1;
  for (std::size_t f = 0; f < d && cells <= kMaxCells; ++f) cells *= 2;
  if (d == 0 || cells > kMaxCells) return g;
  while (true) {  // the largest per-dimension count whose d-th power fits
    std::size_t c = 1;
    for (std::size_t f = 0; f < d && c <= kMaxCells; ++f) c *= per + 1;
    if (c > kMaxCells) break;
    ++per;
  }
  g.per_dim = per;
  g.cells = 1;
  for (std::size_t f = 0; f < d; ++f) g.cells *= per;
  return g;
}

std::size_t DpGrid::Cell(const double* x) const {
  std::size_t cell = 0;
  for (std::size_t f = d; f-- > 0;) {
    const double at = std::clamp(x[f], 0.0, 1.0) * static_cast<double>(per_dim);
    const auto i = static_cast<std::size_t>(at);
    cell = cell * per_dim + std::min(i, per_dim - 1);
  }
  return cell;
}

std::vector<double> DpGrid::Centre(std::size_t cell) const {
  std::vector<double> c(d);
  for (std::size_t f = 0; f < d; ++f, cell /= per_dim) {
    c[f] = (static_cast<double>(cell % per_dim) + 0.5) / static_cast<double>(per_dim);
  }
  return c;
}

std::vector<double> CentroidsFromHistogram(const DpGrid& grid, const std::vector<double>& noisy,
                                           double threshold, std::size_t k, std::uint64_t seed) {
  std::vector<double> points, weights;
  for (std::size_t cell = 0; cell < noisy.size(); ++cell) {
    if (!(noisy[cell] > threshold)) continue;
    const auto c = grid.Centre(cell);
    points.insert(points.end(), c.begin(), c.end());
    weights.push_back(noisy[cell]);
  }
  if (weights.size() >= k) return LocalWeightedKMeans(points, weights, grid.d, k, seed);
  auto out = UniformCentroids(k, grid.d, seed);
  std::copy(points.begin(), points.end(), out.begin());
  return out;
}

DpCountFinalizer::DpCountFinalizer(double stddev, std::optional<privacy::GaussianNoise> noise,
                                   std::optional<std::uint64_t> test_seed)
    : stddev_(stddev), noise_(std::move(noise)), test_seed_(test_seed) {}

void DpCountFinalizer::Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                                std::span<double> values) {
  if (!noise_) noise_ = TestNoise(*test_seed_, ctx);
  const std::size_t n = ctx.range.size() * ctx.width;
  std::copy_n(aggregate.begin(), n, values.begin());
  noise_->AddTo(values.subspan(0, n), stddev_);
}

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
          {"steps", plan.steps()},
          {"iterations", plan.iterations},
          {"init", plan.init_steps ? "noisy histogram (one step)" : "no data"},
          {"bounds", bounds},
          {"neighbouring", "add/remove one user"},
          {"accountant", "rdp"},
          {"conversion", "balle"},
          {"test_seed", test_seed}};
}

}  // namespace ecps::models::kmeans
