// Worker-side compute of logistic regression: mini-batch assignment, the sorted unique keys
// of a batch, the gradient of the summed log-loss, and scoring. No parameter-server calls:
// the job feeds these with pulled weights and pushes what they return.
//
// Weights and gradients are kept compact: position i holds the i-th smallest key of the
// batch (the order of the push/pull key list). A row's key is turned into its position by
// KeyIndex, a bitmap over the key space with per-word prefix counts (for 2^22 keys: 768 KiB,
// which stays in the L2 cache, unlike a dense weight array).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "ps/types.h"
#include "worker/sparse_data.h"

namespace ecps::models::lr {

/// p = 1 / (1 + e^-m), computed without overflow.
inline float Sigmoid(float m) {
  if (m >= 0) return 1.0f / (1.0f + std::exp(-m));
  const float e = std::exp(m);
  return e / (1.0f + e);
}

/// Log-loss of probability p for label y in {0, 1}; p is clipped to [1e-15, 1 - 1e-15].
inline double LogLoss(double p, double y) {
  constexpr double kEps = 1e-15;
  p = std::fmin(std::fmax(p, kEps), 1.0 - kEps);
  return -(y * std::log(p) + (1.0 - y) * std::log1p(-p));
}

/// The mini-batch (of `num_batches`) that example `id` belongs to in `epoch`: a seeded hash,
/// so batch membership does not depend on which worker holds the example.
std::uint32_t BatchOf(std::uint64_t id, std::uint64_t seed, int epoch, std::uint32_t num_batches);

/// True when example `id` is held out for evaluation (a seeded fraction of the rows).
bool HeldOut(std::uint64_t id, std::uint64_t seed, double fraction);

/// This worker's rows grouped by batch for one epoch: rows of batch b are
/// order[start[b] .. start[b+1]), in row order.
struct EpochOrder {
  std::vector<std::uint32_t> order;
  std::vector<std::size_t> start;
  std::span<const std::uint32_t> Batch(std::uint32_t b) const {
    return {order.data() + start[b], start[b + 1] - start[b]};
  }
};
EpochOrder OrderEpoch(const worker::SparseData& data, std::uint64_t seed, int epoch, std::uint32_t num_batches);

/// The sorted unique keys of a set of rows and the position of each key among them.
class KeyIndex {
 public:
  explicit KeyIndex(std::uint64_t num_keys = 0);
  /// Rebuilds the index for `rows` of `data` (all rows when `rows` is null), in parallel.
  void Build(const worker::SparseData& data, const std::span<const std::uint32_t>* rows);
  /// Sorted unique keys (the push/pull key list).
  const std::vector<ps::Key>& keys() const { return keys_; }
  /// Position of `k` in keys(); `k` must be one of them.
  std::uint32_t Position(std::uint32_t k) const {
    const Word& w = words_[k >> 6];
    return w.prefix + static_cast<std::uint32_t>(std::popcount(w.bits & ((std::uint64_t{1} << (k & 63)) - 1)));
  }

 private:
  struct Word {  // 64 keys: which are present, and how many present keys precede them
    std::uint64_t bits = 0;
    std::uint64_t prefix = 0;
  };
  std::uint64_t num_keys_;
  std::vector<Word> words_;
  std::vector<std::vector<std::uint64_t>> part_;  // per chunk of rows, while building
  std::vector<ps::Key> keys_;
};

/// w . x of one row, with `w` indexed by position in `index`.
inline float Margin(const KeyIndex& index, std::span<const std::uint32_t> keys, const float* values, const float* w) {
  float m = 0;
  if (values) {
    for (std::size_t i = 0; i < keys.size(); ++i) m += w[index.Position(keys[i])] * values[i];
  } else {
    for (std::uint32_t k : keys) m += w[index.Position(k)];
  }
  return m;
}

/// Gradient of the summed log-loss over a batch. Rows are split into a fixed number of
/// chunks, each accumulating into its own array, summed in chunk order: the result does not
/// depend on thread scheduling.
class GradientKernel {
 public:
  explicit GradientKernel(int chunks);

  /// Gradient of sum_i logloss(sigmoid(w . x_i), y_i) over `rows` with respect to the
  /// weights of index.keys() (w[i] is the weight of index.keys()[i]), times `scale`, into
  /// grads (same order). Returns the summed log-loss of the rows before the update.
  double Gradient(const worker::SparseData& data, std::span<const std::uint32_t> rows, const KeyIndex& index,
                  const float* w, float scale, std::vector<float>* grads);

 private:
  std::size_t chunks_;
  std::vector<std::vector<float>> acc_;
};

/// Probabilities of every row of `data`; `w` is indexed by position in `index` (built over
/// all rows of `data`). Parallel.
void Score(const worker::SparseData& data, const KeyIndex& index, const float* w, std::vector<float>* probs);

/// Probabilities under dense weights (one per key), for prediction.
void ScoreDense(const worker::SparseData& data, const float* w, std::vector<float>* probs);

}  // namespace ecps::models::lr
