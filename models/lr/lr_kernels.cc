#include "models/lr/lr_kernels.h"

#include <algorithm>
#include <bit>

#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include "ps/table.h"

namespace ecps::models::lr {

std::uint32_t BatchOf(std::uint64_t id, std::uint64_t seed, int epoch, std::uint32_t num_batches) {
  const std::uint64_t salt = ps::MixId(seed * 0x100000001b3ULL + static_cast<std::uint64_t>(epoch) + 1);
  return static_cast<std::uint32_t>(ps::HashToBucket(ps::MixId(id ^ salt), num_batches));
}

bool HeldOut(std::uint64_t id, std::uint64_t seed, double fraction) {
  if (fraction <= 0) return false;
  const std::uint64_t h = ps::MixId(id ^ ps::MixId(seed ^ 0x401d07ULL));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;
}

EpochOrder OrderEpoch(const worker::SparseData& data, std::uint64_t seed, int epoch, std::uint32_t num_batches) {
  EpochOrder e;
  const std::size_t n = data.rows();
  std::vector<std::uint32_t> batch(n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1 << 14), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) batch[i] = BatchOf(data.id(i), seed, epoch, num_batches);
  });
  e.start.assign(num_batches + 1, 0);
  for (std::uint32_t b : batch) ++e.start[b + 1];
  for (std::uint32_t b = 0; b < num_batches; ++b) e.start[b + 1] += e.start[b];
  e.order.resize(n);
  std::vector<std::size_t> next(e.start.begin(), e.start.end() - 1);
  for (std::size_t i = 0; i < n; ++i) e.order[next[batch[i]]++] = static_cast<std::uint32_t>(i);
  return e;
}

KeyIndex::KeyIndex(std::uint64_t num_keys) : num_keys_(num_keys), words_((num_keys + 63) / 64) {}

void KeyIndex::Build(const worker::SparseData& data, const std::span<const std::uint32_t>* rows) {
  const std::size_t n = rows ? rows->size() : data.rows();
  auto row = [&](std::size_t i) { return rows ? (*rows)[i] : static_cast<std::uint32_t>(i); };
  // Small sets in one chunk; larger ones in parallel, one bitmap per chunk, merged below.
  const std::size_t C = n < 4096 ? 1 : static_cast<std::size_t>(std::max(1, tbb::info::default_concurrency()));
  if (part_.size() < C) part_.resize(C);
  tbb::parallel_for(std::size_t{0}, C, [&](std::size_t c) {
    auto& bits = part_[c];
    if (bits.empty()) bits.assign(words_.size(), 0);
    for (std::size_t i = n * c / C; i < n * (c + 1) / C; ++i) {
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

GradientKernel::GradientKernel(int chunks) : chunks_(static_cast<std::size_t>(std::max(1, chunks))), acc_(chunks_) {}

double GradientKernel::Gradient(const worker::SparseData& data, std::span<const std::uint32_t> rows,
                                const KeyIndex& index, const float* w, float scale, std::vector<float>* grads) {
  const std::size_t n = rows.size();
  const std::size_t K = index.keys().size();
  const std::size_t C = n < 1024 ? 1 : chunks_;
  std::vector<double> loss(C, 0.0);
  tbb::parallel_for(std::size_t{0}, C, [&](std::size_t c) {
    auto& acc = acc_[c];
    acc.assign(K, 0.0f);
    double l = 0;
    for (std::size_t i = n * c / C; i < n * (c + 1) / C; ++i) {
      const std::uint32_t r = rows[i];
      const auto ks = data.keys(r);
      const float* vs = data.values(r);
      const float p = Sigmoid(Margin(index, ks, vs, w));
      const float y = data.label(r);
      l += LogLoss(p, y);
      const float d = p - y;
      if (vs) {
        for (std::size_t j = 0; j < ks.size(); ++j) acc[index.Position(ks[j])] += d * vs[j];
      } else {
        for (std::uint32_t k : ks) acc[index.Position(k)] += d;
      }
    }
    loss[c] = l;
  });
  grads->assign(K, 0.0f);
  for (std::size_t c = 0; c < C; ++c) {
    const float* a = acc_[c].data();
    float* g = grads->data();
    for (std::size_t i = 0; i < K; ++i) g[i] += a[i];
  }
  if (scale != 1.0f) {
    for (float& g : *grads) g *= scale;
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
