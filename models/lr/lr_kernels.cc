#include "models/lr/lr_kernels.h"

#include <algorithm>
#include <numeric>
#include <bit>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include "util/hash.h"

namespace ecps::models::lr {

std::uint32_t BatchOf(std::uint64_t id, std::uint64_t seed, int epoch, std::uint32_t num_batches) {
  const std::uint64_t salt =
      util::MixId(seed * 0x100000001b3ULL + static_cast<std::uint64_t>(epoch) + 1);
  return static_cast<std::uint32_t>(util::HashToBucket(util::MixId(id ^ salt), num_batches));
}

bool HeldOut(std::uint64_t id, std::uint64_t seed, double fraction) {
  if (fraction <= 0) return false;
  const std::uint64_t h = util::MixId(id ^ util::MixId(seed ^ 0x401d07ULL));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;
}

KeyIndex::KeyIndex(std::uint64_t num_keys) : num_keys_(num_keys), words_((num_keys + 63) / 64) {}

void KeyIndex::BuildAll() {
  all_ = true;
  keys_.resize(num_keys_);
  std::iota(keys_.begin(), keys_.end(), ps::Key{0});
  for (std::size_t w = 0; w < words_.size(); ++w) {
    const std::uint64_t left = num_keys_ - w * 64;
    words_[w].bits = left >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << left) - 1;
    words_[w].prefix = w * 64;
  }
}

void KeyIndex::Build(const worker::SparseData& data, const std::span<const std::uint32_t>* rows, bool parallel) {
  all_ = false;
  const std::size_t n = rows ? rows->size() : data.rows();
  auto row = [&](std::size_t i) { return rows ? (*rows)[i] : static_cast<std::uint32_t>(i); };
  // Small sets in one chunk; larger ones in parallel, one bitmap per chunk, merged below.
  const std::size_t C =
      n < 4096 || !parallel ? 1 : static_cast<std::size_t>(std::max(1, tbb::info::default_concurrency()));
  if (part_.size() < C) part_.resize(C);
  tbb::parallel_for(std::size_t{0}, C, [&](std::size_t c) {
    auto& bits = part_[c];
    if (bits.empty()) bits.assign(words_.size(), 0);
    const std::size_t end = n * (c + 1) / C;
    for (std::size_t i = n * c / C; i < end; ++i) {
      // A sample's rows lie far apart: fetch a later row's keys while marking this one's.
      if (rows && i + kPrefetchRows < end) __builtin_prefetch(data.keys(row(i + kPrefetchRows)).data());
      for (std::uint32_t k : data.keys(row(i))) bits[k >> 6] |= std::uint64_t{1} << (k & 63);
    }
  });
  keys_.clear();
  std::uint64_t count = 0;
  for (std::size_t w = 0; w < words_.size(); ++w) {
    std::uint64_t b = 0;
    for (std::size_t c = 0; c < C; ++c) {
      b |= part_[c][w];
      part_[c][w] = 0;
    }
    words_[w].bits = b;
    words_[w].prefix = count;
    count += static_cast<std::uint64_t>(std::popcount(b));
    while (b) {
      keys_.push_back(static_cast<ps::Key>(w * 64 + static_cast<std::size_t>(std::countr_zero(b))));
      b &= b - 1;
    }
  }
}

BatchedRows GroupByBatch(const worker::SparseData& data, std::uint64_t num_keys, std::uint64_t seed,
                         std::uint32_t num_batches) {
  BatchedRows out;
  out.num_batches = num_batches;
  const std::size_t n = data.rows();
  std::vector<std::uint32_t> batch(n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1 << 14), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) batch[i] = BatchOf(data.id(i), seed, 0, num_batches);
  });
  // Rows of each batch, in row order (a counting sort).
  std::vector<std::uint64_t> start(num_batches + 1, 0), nnz_start(num_batches + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    ++start[batch[i] + 1];
    nnz_start[batch[i] + 1] += data.keys(i).size();
  }
  for (std::uint32_t b = 0; b < num_batches; ++b) {
    start[b + 1] += start[b];
    nnz_start[b + 1] += nnz_start[b];
  }
  std::vector<std::uint32_t> order(n);
  {
    std::vector<std::uint64_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) order[next[batch[i]]++] = static_cast<std::uint32_t>(i);
  }
  batch = {};
  out.batch_rows = start;
  out.row_ptr.resize(n + 1);
  out.pos.resize(nnz_start[num_batches]);
  if (!data.binary()) out.values.resize(out.pos.size());
  out.labels.resize(n);
  std::vector<std::vector<std::uint32_t>> keys(num_batches);
  struct Scratch {
    std::vector<std::uint64_t> bits;
    std::vector<std::uint32_t> prefix;
  };
  tbb::enumerable_thread_specific<Scratch> scratch;
  const std::size_t words = (num_keys + 63) / 64;
  tbb::parallel_for(std::uint32_t{0}, num_batches, [&](std::uint32_t b) {
    Scratch& s = scratch.local();
    if (s.bits.empty()) {
      s.bits.assign(words, 0);
      s.prefix.assign(words, 0);
    }
    // Copy the batch's rows next to each other first (the only scattered reads), then work
    // on the copy: mark the keys, number them in key order, and replace keys by numbers.
    const std::uint64_t lo = nnz_start[b];
    std::uint64_t at = lo;
    for (std::uint64_t r = start[b]; r < start[b + 1]; ++r) {
      if (r + 8 < start[b + 1]) __builtin_prefetch(data.keys(order[r + 8]).data());
      const std::uint32_t row = order[r];
      const auto ks = data.keys(row);
      out.row_ptr[r] = at;
      out.labels[r] = data.label(row);
      std::copy(ks.begin(), ks.end(), out.pos.begin() + static_cast<std::ptrdiff_t>(at));
      if (const float* vs = data.values(row)) std::copy(vs, vs + ks.size(), out.values.begin() + static_cast<std::ptrdiff_t>(at));
      at += ks.size();
    }
    std::uint32_t* p = out.pos.data();
    for (std::uint64_t i = lo; i < at; ++i) s.bits[p[i] >> 6] |= std::uint64_t{1} << (p[i] & 63);
    auto& kb = keys[b];
    std::uint32_t count = 0;
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t bw = s.bits[w];
      s.prefix[w] = count;
      if (!bw) continue;
      count += static_cast<std::uint32_t>(std::popcount(bw));
      while (bw) {
        kb.push_back(static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bw))));
        bw &= bw - 1;
      }
    }
    for (std::uint64_t i = lo; i < at; ++i) {
      const std::uint32_t k = p[i];
      p[i] = s.prefix[k >> 6] + static_cast<std::uint32_t>(std::popcount(s.bits[k >> 6] & ((std::uint64_t{1} << (k & 63)) - 1)));
    }
    for (std::uint32_t k : kb) s.bits[k >> 6] = 0;
  });
  out.row_ptr[n] = out.pos.size();
  out.batch_keys.assign(num_batches + 1, 0);
  for (std::uint32_t b = 0; b < num_batches; ++b) out.batch_keys[b + 1] = out.batch_keys[b] + keys[b].size();
  out.keys.reserve(out.batch_keys[num_batches]);
  for (auto& k : keys) {
    out.keys.insert(out.keys.end(), k.begin(), k.end());
    k = {};
  }
  return out;
}

std::vector<std::uint32_t> EpochBatchOrder(std::uint32_t num_batches, std::uint64_t seed, int epoch) {
  std::vector<std::uint32_t> order(num_batches);
  for (std::uint32_t b = 0; b < num_batches; ++b) order[b] = b;
  // Fisher-Yates with a hash-based generator: identical on every platform and worker.
  std::uint64_t state = util::MixId(seed ^ (0xba7c4ULL + static_cast<std::uint64_t>(epoch)));
  for (std::uint32_t i = num_batches; i > 1; --i) {
    state = util::MixId(state + 0x9e3779b97f4a7c15ULL);
    std::swap(order[i - 1], order[static_cast<std::uint32_t>(util::HashToBucket(state, i))]);
  }
  return order;
}

GradientKernel::GradientKernel(int chunks) : chunks_(static_cast<std::size_t>(std::max(1, chunks))), acc_(chunks_) {}

double GradientKernel::Gradient(const BatchedRows& data, std::uint32_t b, const float* w, float scale,
                                std::vector<float>* grads) {
  const std::uint64_t first = data.batch_rows[b];
  const std::size_t n = data.Rows(b);
  const std::size_t K = data.Keys(b).size();
  const std::size_t C = n < 1024 ? 1 : chunks_;
  const bool binary = data.values.empty();
  std::vector<double> loss(C, 0.0);
  tbb::parallel_for(std::size_t{0}, C, [&](std::size_t c) {
    auto& acc = acc_[c];
    acc.assign(K, 0.0f);
    float* a = acc.data();
    double l = 0;
    for (std::uint64_t r = first + n * c / C; r < first + n * (c + 1) / C; ++r) {
      const std::uint32_t* pos = data.pos.data() + data.row_ptr[r];
      const std::size_t len = data.row_ptr[r + 1] - data.row_ptr[r];
      const float y = data.labels[r];
      float m = 0;
      if (binary) {
        for (std::size_t j = 0; j < len; ++j) m += w[pos[j]];
      } else {
        const float* v = data.values.data() + data.row_ptr[r];
        for (std::size_t j = 0; j < len; ++j) m += w[pos[j]] * v[j];
      }
      const float p = Sigmoid(m);
      l += LogLoss(p, y);
      const float d = p - y;
      if (binary) {
        for (std::size_t j = 0; j < len; ++j) a[pos[j]] += d;
      } else {
        const float* v = data.values.data() + data.row_ptr[r];
        for (std::size_t j = 0; j < len; ++j) a[pos[j]] += d * v[j];
      }
    }
    loss[c] = l;
  });
  grads->assign(K, 0.0f);
  float* g = grads->data();
  for (std::size_t c = 0; c < C; ++c) {
    const float* a = acc_[c].data();
    for (std::size_t i = 0; i < K; ++i) g[i] += a[i];
  }
  if (scale != 1.0f) {
    for (std::size_t i = 0; i < K; ++i) g[i] *= scale;
  }
  double total = 0;
  for (double l : loss) total += l;
  return total;
}

void Score(const worker::SparseData& data, const KeyIndex& index, const float* w, std::vector<float>* probs) {
  probs->resize(data.rows());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, data.rows(), 4096), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      (*probs)[i] = Sigmoid(Margin(index, data.keys(i), data.values(i), w));
    }
  });
}

void ScoreDense(const worker::SparseData& data, const float* w, std::vector<float>* probs) {
  probs->resize(data.rows());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, data.rows(), 4096), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      const auto ks = data.keys(i);
      const float* vs = data.values(i);
      float m = 0;
      for (std::size_t j = 0; j < ks.size(); ++j) m += w[ks[j]] * (vs ? vs[j] : 1.0f);
      (*probs)[i] = Sigmoid(m);
    }
  });
}

}  // namespace ecps::models::lr
