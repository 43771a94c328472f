// DP-SGD for `ecps train lr` (issue 12): the options, the plan the scheduler resolves from
// them once the training rows are counted, and the pieces each role runs.
//
//  - workers: each step, every training row joins independently with probability q
//    (privacy::PoissonSampler under a secret key the scheduler draws; drawn an epoch at a
//    time, SampleEpoch), and each member's
//    log-loss gradient (p − y)·x is scaled to L2 norm at most C (ClippedGradient);
//  - servers: once per step, before the rule, N(0, σ²C²) is added to the summed gradient of
//    every key they own, pushed or not (DpNoise), and SGD divides by the expected batch q·n;
//  - the scheduler: σ from (ε, δ) with the RDP accountant, or ε from σ; ε spent per epoch.
// The servers are trusted: what is protected is each training example in what leaves the
// servers (weights, models, metrics of the test set).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "models/lr/lr_kernels.h"
#include "privacy/noise.h"
#include "privacy/poisson_sampling.h"
#include "privacy/rdp_accountant.h"
#include "util/big_buffer.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

/// The --dp-* options of `train lr`. DP is on when epsilon or noise_multiplier is set.
struct DpOptions {
  double epsilon = 0;           ///< target ε (> 0), or 0
  double noise_multiplier = 0;  ///< σ directly (> 0), or 0
  double delta = 0;             ///< δ in (0, 1); 0 = 1 / training rows
  double clip = 1;              ///< C: per-example L2 bound of the gradient
  double sample_rate = 0;       ///< q in (0, 1]; 0 = DpDefaultSampleRate
  privacy::Conversion conversion = privacy::Conversion::kBalle;
  bool has_seed = false;        ///< --dp-seed given: replayable noise and batches (tests)
  std::uint64_t seed = 0;

  bool enabled() const { return epsilon > 0 || noise_multiplier > 0; }
  /// Ranges and combinations (exclusive ε / σ; other --dp-* options need one of them).
  /// `any_dp_option`: whether any --dp-* option was given at all.
  Status Validate(bool any_dp_option = true) const;
};

/// The DP defaults a user gets without tuning (README: DP-SGD, choosing the settings), from
/// public quantities only (constants and the option values, never the data):
///  - q = kDpSampleRate (50 steps an epoch) when neither --dp-sample-rate nor --batch-size is
///    given: for a fixed ε and epoch count the summed signal over the noise, q·√T / σ, rises
///    steeply up to about this q and little beyond, while larger q leaves fewer steps;
///  - --hash-bits kDpHashBits when not given: every key is noised each step, so a private run
///    costs time in proportion to the key space; 2^20 keys keep collisions rare.
inline constexpr double kDpSampleRate = 0.02;
inline constexpr int kDpHashBits = 20;
/// q for `rows` training rows: --dp-sample-rate when given, else batch / rows with an explicit
/// --batch-size `batch` (> 0), else kDpSampleRate (at most 1).
double DpDefaultSampleRate(const DpOptions& options, std::uint64_t rows, std::uint64_t batch);

/// What the scheduler resolves (n = training rows) and sends to the workers; the key stays in
/// memory.
struct DpPlan {
  double noise_multiplier = 1;
  double sample_rate = 0;
  double delta = 0;
  double clip = 1;
  double epsilon = 0;  ///< spent by the whole run
  std::uint32_t steps_per_epoch = 1;
  std::uint64_t steps = 1;
  double expected_batch = 0;  ///< q·n
  privacy::SamplingKey key{};
  template <class A>
  void serialize(A& ar) {
    ar(noise_multiplier, sample_rate, delta, clip, epsilon, steps_per_epoch, steps, expected_batch, key);
  }
};

/// The plan for `rows` training rows, `epochs` and the run's --batch-size (0 = not given; q
/// from DpDefaultSampleRate). Steps per epoch: round(1 / q). A budget that cannot be met is refused
/// (InvalidArgument) with what would meet it: the smallest ε reachable, fewer epochs or a
/// smaller --dp-sample-rate. The key is left zero (the caller draws it).
Result<DpPlan> ResolveDp(const DpOptions& options, std::uint64_t rows, std::uint64_t batch, int epochs);

/// ε spent after `steps` steps of `plan`.
Result<double> EpsilonAfter(const DpPlan& plan, std::uint64_t steps, privacy::Conversion conversion);

/// metrics.json's "privacy" object.
nlohmann::json PrivacyJson(const DpPlan& plan, privacy::Conversion conversion);

/// min(1, clip / norm): the factor that brings a gradient of L2 norm `norm` to at most `clip`.
inline double ClipFactor(double norm, double clip) { return norm > clip ? clip / norm : 1.0; }

/// What ClippedGradient reads of a row, gathered while the samples are drawn (in row
/// order), so that a step reads it sequentially rather than from rows far apart.
struct SampledRow {
  const std::uint32_t* keys;  ///< the row's keys, or their positions (EpochSamples::positions)
  const float* values;        ///< nullptr for binary data
  std::uint32_t size;
  float label;
};

/// A worker's Poisson samples of one epoch: the rows of step s (in row order) are
/// rows[offsets[s] .. offsets[s + 1]), and meta holds what ClippedGradient needs of each,
/// pointing into copies of the rows' keys (or positions) and values, laid out step by step
/// in row order. The copies hold about q·steps (1 with the DP defaults) times the worker's
/// non-zeros: about what the non-private run's regrouped batches (BatchedRows) hold.
struct EpochSamples {
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint32_t> rows;
  std::vector<SampledRow> meta;
  util::BigBuffer<std::uint32_t> keys;  ///< the sampled rows' keys, or their positions
  util::BigBuffer<float> values;        ///< their values (empty for binary data)
  bool positions = false;           ///< keys holds positions in the index given to SampleEpoch
  /// SampleEpoch's per-chunk scratch, kept (with the buffers above) for the next epoch.
  std::vector<std::vector<privacy::PoissonSampler::Join>> joins;
  std::span<const std::uint32_t> Step(std::uint32_t s) const {
    return {rows.data() + offsets[s], offsets[s + 1] - offsets[s]};
  }
  std::span<const SampledRow> StepRows(std::uint32_t s) const {
    return {meta.data() + offsets[s], offsets[s + 1] - offsets[s]};
  }
};
/// The samples of `data`'s rows (by example id) for the `steps` steps of epoch `epoch`
/// (parallel over fixed row chunks: the result does not depend on the thread count).
EpochSamples SampleEpoch(const worker::SparseData& data, const privacy::PoissonSampler& sampler, std::uint32_t epoch,
                         std::uint32_t steps);
/// The same into `out`, reusing its memory (a worker keeps one EpochSamples for all epochs:
/// fresh memory each epoch costs a page fault per 4 KiB, tens of MB an epoch).
/// With `positions`, the copies hold each key's position in that index (a step's key list
/// fixed for the run) instead of the key, so a step looks nothing up.
void SampleEpoch(const worker::SparseData& data, const privacy::PoissonSampler& sampler, std::uint32_t epoch,
                 std::uint32_t steps, EpochSamples* out, const KeyIndex* positions = nullptr);

/// Whether a worker's DP steps should all use one key list, the keys of all its rows
/// (`all_keys`, built once), instead of each step's own: when a step's expected non-zeros
/// (q · the worker's non-zeros) are at least that many, a step touches most of those keys
/// anyway, and the list is not rebuilt each step. The keys a step pushes do not depend on its
/// sample then (untouched ones push 0; the servers noise every key either way).
inline bool DpFixedKeys(std::size_t all_keys, std::uint64_t nnz, double sample_rate) {
  return static_cast<double>(all_keys) <= sample_rate * static_cast<double>(nnz);
}

/// One clipped term of a step's gradient: f_i · x_ij at the position of key j of row i.
struct ClipTerm {
  std::uint32_t pos;
  float value;
};
/// ClippedGradient's buffers; a caller that keeps them across steps saves their allocation.
struct ClipScratch {
  std::vector<std::uint64_t> starts;  ///< each row's first term
  std::vector<ClipTerm> terms;        ///< the step's terms, in row order
};

/// Sum over `rows` of the log-loss gradients (p − y)·x_i, each scaled to L2 norm <= clip
/// (repeated keys of a row are merged before the norm is taken), into grads (indexed by
/// position in `index`, built over `rows`). `w` is indexed like grads. The rows' terms are
/// computed in parallel and summed in row order, so the sums do not depend on the thread
/// count. `scratch`: kept by the caller between calls (one per concurrent caller), or null.
void ClippedGradient(const worker::SparseData& data, std::span<const std::uint32_t> rows, const KeyIndex& index,
                     const float* w, double clip, std::vector<float>* grads, ClipScratch* scratch = nullptr);
/// The same over rows gathered by SampleEpoch (EpochSamples::StepRows); `rows_hold_positions`:
/// their keys are positions in `index` already (EpochSamples::positions).
void ClippedGradient(std::span<const SampledRow> rows, const KeyIndex& index, const float* w, double clip,
                     std::vector<float>* grads, ClipScratch* scratch = nullptr, bool rows_hold_positions = false);

/// What a server needs: the noise and the step count (clocks past it are not applied).
struct DpServerParams {
  double stddev = 1;      ///< σ·C
  double grad_scale = 1;  ///< 1 / (q·n) for SGD, 1 otherwise
  std::uint64_t steps = 1;
  bool has_seed = false;
  std::uint64_t seed = 0;
  template <class A>
  void serialize(A& ar) { ar(stddev, grad_scale, steps, has_seed, seed); }
};

/// The scheduler's start of a DP run: the plan (ResolveDp) with its sampling key (from
/// getrandom, or from the test seed, which `log` warns loudly about), logged, and what the
/// servers need (`sgd`: the rule divides by the expected batch).
struct DpStart {
  DpPlan plan;
  DpServerParams server;
};
Result<DpStart> StartDp(const DpOptions& options, bool sgd, std::uint64_t rows, std::uint64_t batch, int epochs,
                        spdlog::logger& log);

/// Gaussian noise over a server's whole key range, in a fixed number of slices (each its own
/// stream) noised in parallel: the result does not depend on the thread count.
class DpNoise {
 public:
  static constexpr std::size_t kSlices = 64;
  /// Values a slice noises before it hands them to AddTo's `then`.
  static constexpr std::size_t kChunk = 4096;
  /// Streams from the OS's entropy, or with a test seed from seed + server_index.
  static Result<DpNoise> Make(const DpServerParams& params, int server_index);
  DpNoise() = default;
  DpNoise(DpNoise&& other) noexcept;
  DpNoise& operator=(DpNoise&&) = delete;
  ~DpNoise();
  /// Adds N(0, stddev²) to each value (snapped, see privacy/noise.h). With `then`, calls
  /// then(lo, hi) on each chunk [lo, hi) of at most kChunk values right after its noise (while
  /// it is in cache), on the thread that noised it; chunks are disjoint. Uses the normals that
  /// DrawAhead drew for values.size() values (waiting for them), else draws them now; the
  /// values are the same either way (each slice's stream in the same order).
  /// With `from` (values.size() floats), each chunk of values is first copied from it, on the
  /// thread that noises the chunk (one pass over memory instead of a copy and then the noise).
  void AddTo(std::span<float> values, double stddev,
             const std::function<void(std::size_t, std::size_t)>& then = {}, const float* from = nullptr);
  /// Starts drawing, in the background (TBB tasks), the standard normals of the next AddTo of
  /// `n` values, so that a server draws them while the workers compute the next step and the
  /// clock itself only adds and snaps them. 8 bytes a value until that AddTo.
  void DrawAhead(std::size_t n);
  /// Waits for DrawAhead's normals (for benchmarks and tests; AddTo waits by itself).
  void WaitAhead();

 private:
  struct Ahead;
  std::vector<privacy::GaussianNoise> slices_;
  std::unique_ptr<Ahead> ahead_;
};

}  // namespace ecps::models::lr
