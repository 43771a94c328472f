#include "models/lr/lr_dp.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

namespace ecps::models::lr {
namespace {

struct PosValue {
  std::uint32_t pos;
  float value;
};

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

// Squared L2 norm of a row whose (position, value) pairs are `pv` (in row order), values of a
// repeated position summed first. `seen`: a bitmap over the positions, all clear, left clear.
// Without repeats the squares are summed in row order; with them (rare: hash collisions
// within a row) `pv` is sorted stably by position and the sums of its runs are squared.
double MergedNorm2(std::vector<PosValue>& pv, std::vector<std::uint64_t>& seen) {
  bool repeats = false;
  double norm2 = 0;
  for (const PosValue& x : pv) {
    std::uint64_t& word = seen[x.pos >> 6];
    const std::uint64_t bit = std::uint64_t{1} << (x.pos & 63);
    repeats |= (word & bit) != 0;
    word |= bit;
    norm2 += static_cast<double>(x.value) * x.value;
  }
  for (const PosValue& x : pv) seen[x.pos >> 6] = 0;
  if (!repeats) return norm2;
  std::stable_sort(pv.begin(), pv.end(), [](const PosValue& a, const PosValue& b) { return a.pos < b.pos; });
  norm2 = 0;
  for (std::size_t j = 0; j < pv.size();) {
    double sum = 0;
    const std::uint32_t p = pv[j].pos;
    for (; j < pv.size() && pv[j].pos == p; ++j) sum += pv[j].value;
    norm2 += sum * sum;
  }
  return norm2;
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

double DpDefaultSampleRate(const DpOptions& o, std::uint64_t rows, std::uint64_t batch) {
  if (o.sample_rate > 0) return o.sample_rate;
  if (batch > 0) return std::min(1.0, static_cast<double>(batch) / static_cast<double>(rows));
  return std::min(1.0, kDpSampleRate);
}

Result<DpPlan> ResolveDp(const DpOptions& o, std::uint64_t rows, std::uint64_t batch, int epochs) {
  ECPS_RETURN_IF_ERROR(o.Validate());
  if (rows < 2) return InvalidArgument("DP-SGD needs at least 2 training rows");
  DpPlan p;
  p.clip = o.clip;
  p.sample_rate = DpDefaultSampleRate(o, rows, batch);
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
  EpochSamples out;
  SampleEpoch(data, sampler, epoch, steps, &out);
  return out;
}

namespace {
// Sizes `v` to n, keeping its memory when it is large enough (no copy of the old contents
// when it is not): an epoch's buffers land in memory the last epoch already faulted in.
template <class T>
void Reuse(std::vector<T>* v, std::size_t n) {
  if (v->capacity() < n) {
    v->clear();
    v->reserve(n + n / 16);
  }
  v->resize(n);
}
}  // namespace

void SampleEpoch(const worker::SparseData& data, const privacy::PoissonSampler& sampler, std::uint32_t epoch,
                 std::uint32_t steps, EpochSamples* out, const KeyIndex* positions) {
  constexpr std::size_t kChunks = 64;
  const std::size_t n = data.rows();
  using Join = privacy::PoissonSampler::Join;  // index: the row
  auto& joins = out->joins;
  joins.resize(kChunks);
  tbb::parallel_for(std::size_t{0}, kChunks, [&](std::size_t c) {
    const std::size_t lo = n * c / kChunks, hi = n * (c + 1) / kChunks;
    static thread_local std::vector<std::uint64_t> ids;
    ids.resize(hi - lo);
    for (std::size_t i = lo; i < hi; ++i) ids[i - lo] = data.id(i);
    joins[c].clear();
    sampler.StepsOfMany(ids, epoch, steps, &joins[c]);
    for (Join& j : joins[c]) j.index += static_cast<std::uint32_t>(lo);
  });
  // Counting sort by step; chunks in order keep each step's rows in row order. Each chunk
  // writes its own slots of each step (in parallel), and copies its rows' keys (or their
  // positions) and values into the step's stretch of `keys`/`values`: a chunk reads its rows
  // in ascending order, and a step then reads its rows from consecutive memory rather than
  // from rows far apart (a TLB miss each).
  std::vector<std::vector<std::uint64_t>> at(kChunks, std::vector<std::uint64_t>(steps, 0));
  std::vector<std::vector<std::uint64_t>> at_nz(kChunks, std::vector<std::uint64_t>(steps, 0));
  tbb::parallel_for(std::size_t{0}, kChunks, [&](std::size_t c) {
    for (const Join& j : joins[c]) {
      ++at[c][j.step];
      at_nz[c][j.step] += data.keys(j.index).size();
    }
  });
  out->offsets.assign(std::size_t{steps} + 1, 0);
  std::uint64_t next = 0, next_nz = 0;
  for (std::uint32_t s = 0; s < steps; ++s) {  // at[c][s]: chunk c's first slot of step s
    for (std::size_t c = 0; c < kChunks; ++c) {
      const std::uint64_t count = at[c][s], nz = at_nz[c][s];
      at[c][s] = next;
      at_nz[c][s] = next_nz;
      next += count;
      next_nz += nz;
    }
    out->offsets[s + 1] = next;
  }
  Reuse(&out->rows, next);
  Reuse(&out->meta, next);
  out->keys.Resize(next_nz);  // rewritten below: not zeroed, in huge pages where allowed
  const bool binary = data.binary();
  out->values.Resize(binary ? 0 : next_nz);
  out->positions = positions != nullptr;
  tbb::parallel_for(std::size_t{0}, kChunks, [&](std::size_t c) {
    for (const Join& j : joins[c]) {
      const std::uint64_t slot = at[c][j.step]++;
      const std::uint64_t at_key = at_nz[c][j.step];
      const auto ks = data.keys(j.index);
      std::uint32_t* to = out->keys.data() + at_key;
      if (positions && !positions->all()) {
        for (std::size_t k = 0; k < ks.size(); ++k) to[k] = positions->Position(ks[k]);
      } else {
        std::copy(ks.begin(), ks.end(), to);
      }
      float* vs = nullptr;
      if (!binary) {
        vs = out->values.data() + at_key;
        std::copy(data.values(j.index), data.values(j.index) + ks.size(), vs);
      }
      at_nz[c][j.step] += ks.size();
      out->rows[slot] = j.index;
      out->meta[slot] = {to, vs, static_cast<std::uint32_t>(ks.size()), data.label(j.index)};
    }
  });
}

void ClippedGradient(const worker::SparseData& data, std::span<const std::uint32_t> rows, const KeyIndex& index,
                     const float* w, double clip, std::vector<float>* grads, ClipScratch* scratch) {
  std::vector<SampledRow> meta(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto ks = data.keys(rows[i]);
    meta[i] = {ks.data(), data.values(rows[i]), static_cast<std::uint32_t>(ks.size()), data.label(rows[i])};
  }
  ClippedGradient(meta, index, w, clip, grads, scratch);
}

void ClippedGradient(std::span<const SampledRow> rows, const KeyIndex& index, const float* w, double clip,
                     std::vector<float>* grads, ClipScratch* scratch, bool rows_hold_positions) {
  ClipScratch local;
  ClipScratch& s = scratch ? *scratch : local;
  s.starts.resize(rows.size() + 1);
  s.starts[0] = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) s.starts[i + 1] = s.starts[i] + rows[i].size;
  s.terms.resize(s.starts.back());
  const std::size_t K = index.keys().size();
  const bool identity = index.all() || rows_hold_positions;  // no lookup of positions
  // Each row's clipped terms, in parallel (each row writes only its own slots). A pipeline
  // over the rows hides their memory latency: the keys of row i + 2·kAhead are prefetched,
  // the positions of row i + kAhead looked up (into its terms) and their weights prefetched,
  // and row i's terms computed.
  constexpr std::size_t kAhead = kPrefetchRows;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, rows.size(), 512), [&](const auto& r) {
    // The row's (position, value) pairs, whose repeated positions are merged for the norm.
    static thread_local std::vector<PosValue> sorted;
    static thread_local std::vector<std::uint64_t> seen;
    if (seen.size() < (K + 63) / 64) seen.resize((K + 63) / 64, 0);
    const std::size_t lo = r.begin(), hi = r.end();
    auto positions = [&](std::size_t i) {
      const SampledRow& row = rows[i];
      ClipTerm* t = s.terms.data() + s.starts[i];
      if (identity) {  // the row's keys are positions already
        for (std::size_t j = 0; j < row.size; ++j) {
          t[j].pos = row.keys[j];
          __builtin_prefetch(w + t[j].pos);
        }
        return;
      }
      for (std::size_t j = 0; j < row.size; ++j) {
        t[j].pos = index.Position(row.keys[j]);
        __builtin_prefetch(w + t[j].pos);
      }
    };
    for (std::size_t i = lo; i < std::min(hi, lo + kAhead); ++i) positions(i);
    for (std::size_t i = lo; i < hi; ++i) {
      if (i + 2 * kAhead < hi) {  // the row's keys lie far from the last one's
        const SampledRow& later = rows[i + 2 * kAhead];
        const auto* k = reinterpret_cast<const char*>(later.keys);
        for (std::size_t b = 0; b < later.size * sizeof(std::uint32_t); b += 64) __builtin_prefetch(k + b);
        if (later.values) __builtin_prefetch(later.values);
      }
      if (i + kAhead < hi) positions(i + kAhead);
      const SampledRow& row = rows[i];
      const float* vs = row.values;
      ClipTerm* t = s.terms.data() + s.starts[i];
      sorted.resize(row.size);
      float m = 0;
      for (std::size_t j = 0; j < row.size; ++j) {
        const std::uint32_t p = t[j].pos;
        const float v = vs ? vs[j] : 1.0f;
        m += w[p] * v;
        sorted[j] = {p, v};
      }
      const double norm2 = MergedNorm2(sorted, seen);
      const double d = static_cast<double>(Sigmoid(m)) - static_cast<double>(row.label);
      const double f = d * ClipFactor(std::abs(d) * std::sqrt(norm2), clip);
      for (std::size_t j = 0; j < row.size; ++j) t[j].value = static_cast<float>(f * (vs ? vs[j] : 1.0f));
    }
  });
  // Summed in row order: each thread owns a slice of the positions, clears it and adds the
  // terms that fall into it in one pass over all of them, so every key's sum is added in the
  // same order whatever the thread count.
  grads->resize(K);
  float* g = grads->data();
  const std::size_t n = s.terms.size();
  const std::size_t slices = std::clamp<std::size_t>(
      n / (std::size_t{1} << 16), 1, static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency())));
  tbb::parallel_for(std::size_t{0}, slices, [&](std::size_t sl) {
    const std::size_t lo = K * sl / slices, hi = K * (sl + 1) / slices;
    std::fill(g + lo, g + hi, 0.0f);
    constexpr std::size_t kTermsAhead = 32;
    for (std::size_t k = 0; k < n; ++k) {
      if (k + kTermsAhead < n) {
        const std::size_t ahead = s.terms[k + kTermsAhead].pos;
        if (ahead >= lo && ahead < hi) __builtin_prefetch(g + ahead, 1);
      }
      const std::size_t p = s.terms[k].pos;
      if (p >= lo && p < hi) g[p] += s.terms[k].value;
    }
  }, tbb::simple_partitioner());
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
  const char* q_from = o.sample_rate > 0 ? "" : batch > 0 ? ", from --batch-size" : ", the DP default";
  log.info("lr: DP-SGD: noise multiplier {:.4g}, clip {:g}, sample rate {:.4g} (~{:.0f} rows a step{}), {} steps; "
           "epsilon {:.4g} at delta {:.3g} ({} conversion){}",
           p.noise_multiplier, p.clip, p.sample_rate, p.expected_batch, q_from, p.steps, p.epsilon, p.delta,
           privacy::ConversionName(o.conversion), o.delta > 0 ? "" : " (delta = 1 / training rows)");
  DpServerParams& sp = start.server;
  sp.stddev = p.noise_multiplier * p.clip;
  sp.grad_scale = sgd ? 1.0 / p.expected_batch : 1.0;
  sp.steps = p.steps;
  sp.has_seed = o.has_seed;
  sp.seed = o.seed;
  return start;
}

struct DpNoise::Ahead {
  tbb::task_group group;
  bool pending = false;  // group runs or ran a draw not yet waited for
  std::vector<double> normals;
};

DpNoise::DpNoise(DpNoise&& other) noexcept {
  other.WaitAhead();  // a pending draw refers to `other`
  slices_ = std::move(other.slices_);
  ahead_ = std::move(other.ahead_);
}

DpNoise::~DpNoise() { WaitAhead(); }

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
  n.ahead_ = std::make_unique<Ahead>();
  return n;
}

void DpNoise::WaitAhead() {
  if (ahead_ && ahead_->pending) {
    ahead_->group.wait();
    ahead_->pending = false;
  }
}

void DpNoise::DrawAhead(std::size_t n) {
  WaitAhead();
  ahead_->normals.resize(n);
  ahead_->pending = true;
  ahead_->group.run([this, n] {
    // The same chunks, per slice in the same order, as AddTo draws without it.
    tbb::parallel_for(std::size_t{0}, kSlices, [&](std::size_t s) {
      const std::size_t lo = n * s / kSlices, hi = n * (s + 1) / kSlices;
      for (std::size_t c = lo; c < hi; c += kChunk) {
        slices_[s].Standard(std::span<double>(ahead_->normals).subspan(c, std::min(hi, c + kChunk) - c));
      }
    });
  });
}

void DpNoise::AddTo(std::span<float> values, double stddev,
                    const std::function<void(std::size_t, std::size_t)>& then, const float* from) {
  const std::size_t n = values.size();
  WaitAhead();
  const bool drawn = ahead_->normals.size() == n && n > 0;
  tbb::parallel_for(std::size_t{0}, kSlices, [&](std::size_t s) {
    const std::size_t lo = n * s / kSlices, hi = n * (s + 1) / kSlices;
    for (std::size_t c = lo; c < hi; c += kChunk) {
      const std::size_t end = std::min(hi, c + kChunk);
      if (from) std::copy(from + c, from + end, values.data() + c);
      if (drawn) {
        privacy::GaussianNoise::AddSnapped(values.subspan(c, end - c),
                                           std::span<const double>(ahead_->normals).subspan(c, end - c), stddev);
      } else {
        slices_[s].AddTo(values.subspan(c, end - c), stddev);
      }
      if (then) then(c, end);
    }
  });
  ahead_->normals.clear();  // used once
}

}  // namespace ecps::models::lr
