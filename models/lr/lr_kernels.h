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

/// How many rows ahead the kernels that visit scattered rows prefetch a row's keys.
inline constexpr std::size_t kPrefetchRows = 8;

/// The sorted unique keys of a set of rows and the position of each key among them.
class KeyIndex {
 public:
  explicit KeyIndex(std::uint64_t num_keys = 0);
  /// Rebuilds the index for `rows` of `data` (all rows when `rows` is null); in parallel
  /// unless `parallel` is false.
  void Build(const worker::SparseData& data, const std::span<const std::uint32_t>* rows, bool parallel = true);
  /// Every key of [0, num_keys): Position(k) = k.
  void BuildAll();
  /// Whether the index was last built by BuildAll (every position is its key).
  bool all() const { return all_; }
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
  bool all_ = false;
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

/// A worker's training rows regrouped by global mini-batch, once, after loading: for each
/// batch its sorted unique keys (the push/pull list) and its rows with every key replaced by
/// its position in that list. An epoch then streams through the rows of each batch with
/// random access only into the batch's compact weight and gradient arrays (which fit in
/// cache). Batch membership is BatchOf(id, seed, 0, num_batches): the same for any number
/// of workers; epochs visit the batches in a seeded order (EpochBatchOrder).
struct BatchedRows {
  std::uint32_t num_batches = 0;
  std::vector<std::uint64_t> batch_rows;  ///< num_batches + 1: first row of each batch
  std::vector<std::uint64_t> row_ptr;     ///< rows + 1: offsets into pos / values
  std::vector<std::uint32_t> pos;         ///< per non-zero: position in its batch's keys
  std::vector<float> values;              ///< per non-zero; empty for one-hot data
  std::vector<float> labels;
  std::vector<std::uint64_t> batch_keys;  ///< num_batches + 1: offsets into keys
  std::vector<std::uint32_t> keys;        ///< per batch, sorted unique

  std::uint64_t nnz() const { return pos.size(); }
  std::span<const std::uint32_t> Keys(std::uint32_t b) const {
    return {keys.data() + batch_keys[b], batch_keys[b + 1] - batch_keys[b]};
  }
  std::uint64_t Rows(std::uint32_t b) const { return batch_rows[b + 1] - batch_rows[b]; }
  std::uint64_t Nnz(std::uint32_t b) const { return row_ptr[batch_rows[b + 1]] - row_ptr[batch_rows[b]]; }
};

/// Regroups `data` (keys < num_keys) into `num_batches` batches. Parallel over batches.
BatchedRows GroupByBatch(const worker::SparseData& data, std::uint64_t num_keys, std::uint64_t seed,
                         std::uint32_t num_batches);

/// The order in which epoch `epoch` visits the batches: a seeded permutation, the same on
/// every worker.
std::vector<std::uint32_t> EpochBatchOrder(std::uint32_t num_batches, std::uint64_t seed, int epoch);

/// Gradient of the summed log-loss over one batch. Rows are split into a fixed number of
/// chunks, each accumulating into its own array, summed in chunk order: the result does not
/// depend on thread scheduling.
class GradientKernel {
 public:
  explicit GradientKernel(int chunks);

  /// Gradient of sum_i logloss(sigmoid(w . x_i), y_i) over the rows of batch b with respect
  /// to the weights of rows.Keys(b) (w[i] is the weight of the i-th key), times `scale`,
  /// into grads (same order). Returns the summed log-loss of the rows before the update.
  double Gradient(const BatchedRows& rows, std::uint32_t b, const float* w, float scale, std::vector<float>* grads);

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
