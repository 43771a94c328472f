#include "models/lr/lr_dp.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace ecps::models::lr {
namespace {

// Rows of a step's gradient are summed in this many fixed chunks (when there are enough): the
// sum does not depend on the thread count.
constexpr std::size_t kGradientChunks = 16;

Result<double> Epsilon(double sigma, double q, std::uint64_t steps, double delta, privacy::Conversion c) {
  privacy::Accounting acc;
  acc.conversion = c;
  ECPS_ASSIGN_OR_RETURN(const privacy::Guarantee g, privacy::ComputeEpsilon({sigma, q, steps}, delta, acc));
  return g.epsilon;
}

std::uint32_t StepsPerEpoch(double q) {
  return static_cast<std::uint32_t>(std::max<double>(1.0, std::round(1.0 / q)));
}

// What would meet ε at δ when σ ≤ kMaxNoiseMultiplier does not: the smallest ε reachable, and
// the most epochs or else the largest sample rate (halving) that would.
std::string Suggestion(const DpOptions& o, double q, int epochs, double delta) {
  privacy::Accounting acc;
  acc.conversion = o.conversion;
  auto meets = [&](double rate, int e) {
    return privacy::FindNoiseMultiplier({o.epsilon, delta, rate, std::uint64_t{StepsPerEpoch(rate)} * e}, acc).ok();
  };
  std::vector<std::string> ways;
  const auto floor = Epsilon(privacy::kMaxNoiseMultiplier, q, std::uint64_t{StepsPerEpoch(q)} * epochs, delta, o.conversion);
  if (floor.ok()) {
    ways.push_back(fmt::format("the smallest epsilon these settings reach (noise multiplier capped at {:g}) is {:.4g}",
                               privacy::kMaxNoiseMultiplier, *floor));
  }
  if (epochs > 1 && meets(q, 1)) {  // ε grows with the epochs: the most that meet it
    int lo = 1, hi = epochs - 1;
    while (lo < hi) {
      const int mid = lo + (hi - lo + 1) / 2;
      if (meets(q, mid)) lo = mid; else hi = mid - 1;
    }
    ways.push_back(fmt::format("--epochs {} would meet it", lo));
  }
  // Only without an epochs suggestion: the accountant is slow at fractional q and large σ.
  for (int k = 1; k <= 10 && ways.size() < 2; ++k) {  // ε shrinks about as sqrt(q): down to q / 1024
    const double rate = q / std::ldexp(1.0, k);
    if (1.0 / rate > 1e9) break;
    if (meets(rate, epochs)) {
      ways.push_back(fmt::format("--dp-sample-rate {:.3g} would meet it", rate));
      break;
    }
  }
  if (ways.size() < 2) ways.push_back("a larger --dp-epsilon or --dp-delta would");
  return fmt::format("{}", fmt::join(ways, "; "));
}

}  // namespace

Status DpOptions::Validate(bool any_dp_option) const {
  if (!enabled()) {
    if (any_dp_option) return InvalidArgument("the --dp-* options need --dp-epsilon or --dp-noise-multiplier");
    return Status::Ok();
  }
  if (epsilon > 0 && noise_multiplier > 0) {
    return InvalidArgument("--dp-epsilon and --dp-noise-multiplier exclude each other (give the budget or the noise)");
  }
  if (!(std::isfinite(epsilon) && epsilon >= 0)) return InvalidArgument(fmt::format("--dp-epsilon {} must be > 0", epsilon));
  if (noise_multiplier > 0 && !(noise_multiplier >= privacy::kMinNoiseMultiplier &&
                                noise_multiplier <= privacy::kMaxNoiseMultiplier)) {
    return InvalidArgument(fmt::format("--dp-noise-multiplier {} is outside [{:g}, {:g}]", noise_multiplier,
                                       privacy::kMinNoiseMultiplier, privacy::kMaxNoiseMultiplier));
  }
  if (!(delta >= 0 && delta < 1)) return InvalidArgument(fmt::format("--dp-delta {} is outside (0, 1)", delta));
  if (!(std::isfinite(clip) && clip > 0)) return InvalidArgument(fmt::format("--dp-clip {} must be > 0", clip));
  if (!(sample_rate >= 0 && sample_rate <= 1)) {
    return InvalidArgument(fmt::format("--dp-sample-rate {} is outside (0, 1]", sample_rate));
  }
  if (sample_rate > 0 && 1.0 / sample_rate > 1e9) {
    return InvalidArgument(fmt::format("--dp-sample-rate {} would take more than 1e9 steps per epoch", sample_rate));
  }
  return Status::Ok();
}

Result<DpPlan> ResolveDp(const DpOptions& o, std::uint64_t rows, std::uint64_t batch, int epochs) {
  ECPS_RETURN_IF_ERROR(o.Validate());
  if (rows < 2) return InvalidArgument("DP-SGD needs at least 2 training rows");
  DpPlan p;
  p.clip = o.clip;
  p.sample_rate = o.sample_rate > 0 ? o.sample_rate
                                    : std::min(1.0, static_cast<double>(batch) / static_cast<double>(rows));
  p.steps_per_epoch = StepsPerEpoch(p.sample_rate);
  p.steps = std::uint64_t{p.steps_per_epoch} * static_cast<std::uint64_t>(epochs);
  p.delta = o.delta > 0 ? o.delta : 1.0 / static_cast<double>(rows);
  p.expected_batch = p.sample_rate * static_cast<double>(rows);
  if (o.epsilon > 0) {
    privacy::Accounting acc;
    acc.conversion = o.conversion;
    auto sigma = privacy::FindNoiseMultiplier({o.epsilon, p.delta, p.sample_rate, p.steps}, acc);
    if (!sigma.ok()) {
      return InvalidArgument(fmt::format(
          "--dp-epsilon {:g} at delta {:g} cannot be met with sample rate {:.4g} over {} steps ({} epoch(s) of {}): "
          "{}; {}",
          o.epsilon, p.delta, p.sample_rate, p.steps, epochs, p.steps_per_epoch, sigma.status().message(),
          Suggestion(o, p.sample_rate, epochs, p.delta)));
    }
    p.noise_multiplier = *sigma;
  } else {
    p.noise_multiplier = o.noise_multiplier;
  }
  ECPS_ASSIGN_OR_RETURN(p.epsilon, Epsilon(p.noise_multiplier, p.sample_rate, p.steps, p.delta, o.conversion));
  return p;
}

Result<double> EpsilonAfter(const DpPlan& plan, std::uint64_t steps, privacy::Conversion conversion) {
  return Epsilon(plan.noise_multiplier, plan.sample_rate, std::max<std::uint64_t>(1, steps), plan.delta, conversion);
}

nlohmann::json PrivacyJson(const DpPlan& plan, privacy::Conversion conversion) {
  return {{"epsilon", plan.epsilon},
          {"delta", plan.delta},
          {"noise_multiplier", plan.noise_multiplier},
          {"sample_rate", plan.sample_rate},
          {"steps", plan.steps},
          {"clip", plan.clip},
          {"accountant", "rdp"},
          {"conversion", std::string(privacy::ConversionName(conversion))}};
}

EpochSamples SampleEpoch(const worker::SparseData& data, const privacy::PoissonSampler& sampler, std::uint32_t epoch,
                         std::uint32_t steps) {
  constexpr std::size_t kChunks = 64;
  const std::size_t n = data.rows();
  using Join = privacy::PoissonSampler::Join;  // index: the row
  std::vector<std::vector<Join>> joins(kChunks);
  tbb::parallel_for(std::size_t{0}, kChunks, [&](std::size_t c) {
    const std::size_t lo = n * c / kChunks, hi = n * (c + 1) / kChunks;
    std::vector<std::uint64_t> ids(hi - lo);
    for (std::size_t i = lo; i < hi; ++i) ids[i - lo] = data.id(i);
    sampler.StepsOfMany(ids, epoch, steps, &joins[c]);
    for (Join& j : joins[c]) j.index += static_cast<std::uint32_t>(lo);
  });
  // Counting sort by step; chunks in order keep each step's rows in row order.
  EpochSamples out;
  out.offsets.assign(std::size_t{steps} + 1, 0);
  for (const auto& js : joins) {
    for (const Join& j : js) ++out.offsets[j.step + 1];
  }
  for (std::uint32_t s = 0; s < steps; ++s) out.offsets[s + 1] += out.offsets[s];
  out.rows.resize(out.offsets[steps]);
  std::vector<std::uint64_t> next(out.offsets.begin(), out.offsets.end() - 1);
  for (const auto& js : joins) {
    for (const Join& j : js) out.rows[next[j.step]++] = j.index;
  }
  return out;
}

void ClippedGradient(const worker::SparseData& data, std::span<const std::uint32_t> rows, const KeyIndex& index,
                     const float* w, double clip, std::vector<float>* grads, ChunkSums* scratch) {
  const std::size_t K = index.keys().size();
  const std::size_t C = rows.size() < 1024 ? 1 : kGradientChunks;
  ChunkSums local;
  ChunkSums& acc = scratch ? *scratch : local;
  acc.resize(C);
  tbb::parallel_for(std::size_t{0}, C, [&](std::size_t c) {
    std::vector<float>& a = acc[c];
    a.assign(K, 0.0f);
    // A row's values per key, repeated keys summed; all zero again after each row, so kept
    // per thread across chunks and steps (not zeroed K values at a time).
    static thread_local std::vector<double> merged;
    if (merged.size() < K) merged.resize(K, 0.0);
    static thread_local std::vector<std::uint32_t> pos;
    const std::size_t end = rows.size() * (c + 1) / C;
    for (std::size_t i = rows.size() * c / C; i < end; ++i) {
      if (i + kPrefetchRows < end) {
        const std::uint32_t later = rows[i + kPrefetchRows];
        __builtin_prefetch(data.keys(later).data());
        if (const float* v = data.values(later)) __builtin_prefetch(v);
      }
      const std::uint32_t row = rows[i];
      const auto ks = data.keys(row);
      const float* vs = data.values(row);
      pos.resize(ks.size());
      float m = 0;
      for (std::size_t j = 0; j < ks.size(); ++j) {
        pos[j] = index.Position(ks[j]);
        const float v = vs ? vs[j] : 1.0f;
        m += w[pos[j]] * v;
        merged[pos[j]] += v;
      }
      double norm2 = 0;
      for (std::uint32_t q : pos) {
        norm2 += merged[q] * merged[q];
        merged[q] = 0;
      }
      const double d = static_cast<double>(Sigmoid(m)) - static_cast<double>(data.label(row));
      const double f = d * ClipFactor(std::abs(d) * std::sqrt(norm2), clip);
      for (std::size_t j = 0; j < ks.size(); ++j) a[pos[j]] += static_cast<float>(f * (vs ? vs[j] : 1.0f));
    }
  });
  grads->assign(K, 0.0f);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, K, 16384), [&](const auto& r) {
    float* g = grads->data();
    for (const auto& a : acc) {  // chunks in order: the sum does not depend on the threads
      for (std::size_t i = r.begin(); i < r.end(); ++i) g[i] += a[i];
    }
  });
}

Result<DpStart> StartDp(const DpOptions& o, bool sgd, std::uint64_t rows, std::uint64_t batch, int epochs,
                        spdlog::logger& log) {
  DpStart start;
  ECPS_ASSIGN_OR_RETURN(start.plan, ResolveDp(o, rows, batch, epochs));
  DpPlan& p = start.plan;
  if (o.has_seed) {
    p.key = privacy::TestSamplingKey(o.seed);
    log.warn("lr: --dp-seed {}: the noise and the batches can be replayed: THIS RUN IS NOT PRIVATE (tests only)", o.seed);
  } else {
    ECPS_ASSIGN_OR_RETURN(p.key, privacy::RandomSamplingKey());
  }
  log.info("lr: DP-SGD: noise multiplier {:.4g}, clip {:g}, sample rate {:.4g} (~{:.0f} rows a step), {} steps; "
           "epsilon {:.4g} at delta {:.3g} ({} conversion){}",
           p.noise_multiplier, p.clip, p.sample_rate, p.expected_batch, p.steps, p.epsilon, p.delta,
           privacy::ConversionName(o.conversion), o.delta > 0 ? "" : " (delta = 1 / training rows)");
  DpServerParams& sp = start.server;
  sp.stddev = p.noise_multiplier * p.clip;
  sp.grad_scale = sgd ? 1.0 / p.expected_batch : 1.0;
  sp.steps = p.steps;
  sp.has_seed = o.has_seed;
  sp.seed = o.seed;
  return start;
}

Result<DpNoise> DpNoise::Make(const DpServerParams& params, int server_index) {
  DpNoise n;
  n.slices_.reserve(kSlices);
  for (std::size_t s = 0; s < kSlices; ++s) {
    if (params.has_seed) {
      n.slices_.push_back(privacy::GaussianNoise::FromTestSeed(
          (params.seed + static_cast<std::uint64_t>(server_index)) * kSlices + s));
    } else {
      ECPS_ASSIGN_OR_RETURN(auto g, privacy::GaussianNoise::FromEntropy());
      n.slices_.push_back(std::move(g));
    }
  }
  return n;
}

void DpNoise::AddTo(std::span<float> values, double stddev,
                    const std::function<void(std::size_t, std::size_t)>& then) {
  const std::size_t n = values.size();
  tbb::parallel_for(std::size_t{0}, kSlices, [&](std::size_t s) {
    const std::size_t lo = n * s / kSlices, hi = n * (s + 1) / kSlices;
    for (std::size_t c = lo; c < hi; c += kChunk) {
      const std::size_t end = std::min(hi, c + kChunk);
      slices_[s].AddTo(values.subspan(c, end - c), stddev);
      if (then) then(c, end);
    }
  });
}

}  // namespace ecps::models::lr
