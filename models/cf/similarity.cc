#include "models/cf/similarity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "models/cf/choices.h"

namespace ecps::models::cf {

const char* MeasureName(Measure m) { return SpellingOf(kMeasures, m).data(); }

void EntityBlock::SortEntities() {
  const bool with_values = !val.empty();
  tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, size(), 64), [&](const auto& r) {
    std::vector<std::pair<std::uint32_t, float>> tmp;
    for (std::uint32_t e = r.begin(); e != r.end(); ++e) {
      const auto b = static_cast<std::ptrdiff_t>(ptr[e]), n = static_cast<std::ptrdiff_t>(ptr[e + 1]);
      if (std::is_sorted(ctx.begin() + b, ctx.begin() + n)) continue;
      if (!with_values) {
        std::sort(ctx.begin() + b, ctx.begin() + n);
        continue;
      }
      tmp.clear();
      for (auto p = b; p < n; ++p) tmp.emplace_back(ctx[static_cast<std::size_t>(p)], val[static_cast<std::size_t>(p)]);
      std::sort(tmp.begin(), tmp.end());
      for (auto p = b; p < n; ++p) {
        ctx[static_cast<std::size_t>(p)] = tmp[static_cast<std::size_t>(p - b)].first;
        val[static_cast<std::size_t>(p)] = tmp[static_cast<std::size_t>(p - b)].second;
      }
    }
  });
}

void EntityBlock::Prepare(const SimilarityOptions& o, std::span<const double> context_mean,
                          std::uint32_t n_contexts) {
  const std::uint32_t n = size();
  const bool values = !o.binary && o.measure != Measure::kJaccard;
  if (!values) val.clear();
  norm2.assign(n, 0.0);
  for (std::uint32_t e = 0; e < n; ++e) {
    const std::uint64_t b = ptr[e], f = ptr[e + 1];
    if (!values) {
      norm2[e] = static_cast<double>(f - b);
      continue;
    }
    if (o.measure == Measure::kAdjustedCosine) {
      for (std::uint64_t p = b; p < f; ++p) val[p] = static_cast<float>(val[p] - context_mean[ctx[p]]);
    } else if (o.measure == Measure::kPearson && f > b) {
      double sum = 0;
      for (std::uint64_t p = b; p < f; ++p) sum += val[p];
      const double mean = sum / static_cast<double>(f - b);
      for (std::uint64_t p = b; p < f; ++p) val[p] = static_cast<float>(val[p] - mean);
    }
    double s2 = 0;
    for (std::uint64_t p = b; p < f; ++p) s2 += static_cast<double>(val[p]) * val[p];
    norm2[e] = s2;
  }
  inv_norm.resize(n);
  for (std::uint32_t e = 0; e < n; ++e) inv_norm[e] = norm2[e] > 0 ? 1.0 / std::sqrt(norm2[e]) : 0.0;
  // Transpose by counting sort: entities come out ascending within each context.
  tptr.assign(static_cast<std::size_t>(n_contexts) + 1, 0);
  for (std::uint32_t c : ctx) ++tptr[c + 1];
  std::partial_sum(tptr.begin(), tptr.end(), tptr.begin());
  tent.resize(ctx.size());
  tval.resize(values ? ctx.size() : 0);
  std::vector<std::uint64_t> fill(tptr.begin(), tptr.end() - 1);
  for (std::uint32_t e = 0; e < n; ++e) {
    for (std::uint64_t p = ptr[e]; p < ptr[e + 1]; ++p) {
      const std::uint64_t q = fill[ctx[p]]++;
      tent[q] = e;
      if (values) tval[q] = val[p];
    }
  }
}

namespace {

// Accumulators: `n` (co-support) must be the first touch marker.
struct CountAcc {
  std::uint32_t n = 0;
};
struct DotAcc {
  double dot = 0;
  std::uint32_t n = 0;
};
struct CoRatedAcc {
  double dot = 0, sa = 0, sb = 0;
  std::uint32_t n = 0;
};

// Per-entity top-k heaps (top = worst kept) with the worst kept score beside, so that most
// offers are rejected by one comparison in a compact array.
class TopKHeaps {
 public:
  TopKHeaps(std::size_t n, std::size_t k)
      : k_(k), heap_(n * k), count_(n, 0), worst_(n, -std::numeric_limits<double>::infinity()) {}
  void Offer(std::size_t e, const Neighbor& cand) {
    if (cand.score < worst_[e]) return;
    Neighbor* h = heap_.data() + e * k_;
    std::uint32_t& c = count_[e];
    if (c < k_) {
      h[c++] = cand;
      std::push_heap(h, h + c, Better);
      if (c == k_) worst_[e] = h[0].score;
      return;
    }
    if (!Better(cand, h[0])) return;
    std::pop_heap(h, h + k_, Better);
    h[k_ - 1] = cand;
    std::push_heap(h, h + k_, Better);
    worst_[e] = h[0].score;
  }
  /// Appends entity e's kept candidates to `out` (any order).
  void Append(std::size_t e, std::vector<Neighbor>* out) const {
    out->insert(out->end(), heap_.begin() + static_cast<std::ptrdiff_t>(e * k_),
                heap_.begin() + static_cast<std::ptrdiff_t>(e * k_ + count_[e]));
  }

 private:
  std::size_t k_;
  std::vector<Neighbor> heap_;
  std::vector<std::uint32_t> count_;
  std::vector<double> worst_;
};

template <class Acc>
struct Scratch {
  // touched has one spare slot: the kernel writes before it knows whether the entry is new.
  Scratch(std::size_t width, std::size_t k) : acc(width, Acc{}), touched(width + 1), cols(width, k), rows(1, k) {}
  std::vector<Acc> acc;
  std::vector<std::uint32_t> touched;
  TopKHeaps cols;  // candidates for the column entities found from this thread's rows
  TopKHeaps rows;  // the current row
  std::vector<Neighbor> list;
};

// Each unordered pair is accumulated once, from its smaller entity: in a diagonal block row
// i only meets columns j > i; in an off-diagonal block (rows before columns) every pair. The
// score goes to the row's heap and to the column's heap of this thread; the column heaps of
// all threads are merged at the end. `Add(acc, a, b)` adds one shared context with values a
// (row entity) and b (column entity); `Score(acc, i, j)` gives the raw similarity.
template <class Acc, bool kValues, class AddFn, class ScoreFn>
std::uint64_t Kernel(const EntityBlock& rows, const EntityBlock& cols, const SimilarityOptions& o,
                     double* out_rows, double* out_cols, AddFn add, ScoreFn score) {
  const std::uint32_t width = cols.size();
  const std::size_t k = o.k;
  const bool same = rows.begin == cols.begin && rows.end == cols.end;
  const bool shrink = o.shrinkage > 0;
  tbb::enumerable_thread_specific<Scratch<Acc>> tls([width, k] { return Scratch<Acc>(width, k); });
  std::atomic<std::uint64_t> pairs{0};
  tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, rows.size(), 4), [&](const auto& range) {
    Scratch<Acc>& s = tls.local();
    Acc* acc = s.acc.data();
    std::uint32_t* touched = s.touched.data();
    std::uint64_t local_pairs = 0;
    for (std::uint32_t i = range.begin(); i != range.end(); ++i) {
      std::size_t nt = 0;
      for (std::uint64_t p = rows.ptr[i]; p < rows.ptr[i + 1]; ++p) {
        const std::uint32_t u = rows.ctx[p];
        const float a = kValues ? rows.val[p] : 1.0f;
        std::uint64_t q = cols.tptr[u];
        const std::uint64_t qe = cols.tptr[u + 1];
        if (same) {
          q = static_cast<std::uint64_t>(std::upper_bound(cols.tent.begin() + static_cast<std::ptrdiff_t>(q),
                                                          cols.tent.begin() + static_cast<std::ptrdiff_t>(qe), i) -
                                         cols.tent.begin());
        }
        for (; q < qe; ++q) {
          const std::uint32_t j = cols.tent[q];
          Acc& c = acc[j];
          touched[nt] = j;
          nt += (c.n == 0);
          add(c, a, kValues ? cols.tval[q] : 1.0f);
        }
      }
      local_pairs += nt;
      TopKHeaps& row = s.rows;
      row = TopKHeaps(1, k);
      const std::uint32_t gi = rows.begin + i;
      for (std::size_t t = 0; t < nt; ++t) {
        const std::uint32_t j = touched[t];
        const Acc c = acc[j];
        acc[j] = Acc{};
        if (c.n < o.min_support) continue;
        double sim = score(c, i, j);
        if (shrink) sim *= c.n / (c.n + o.shrinkage);
        if (!(sim > 0)) continue;
        row.Offer(0, {cols.begin + j, sim});
        s.cols.Offer(j, {gi, sim});
      }
      s.list.clear();
      row.Append(0, &s.list);
      std::sort(s.list.begin(), s.list.end(), Better);
      EncodeRow(s.list, k, out_rows + static_cast<std::size_t>(i) * 2 * k);
    }
    pairs.fetch_add(local_pairs, std::memory_order_relaxed);
  });
  // Column entities: merge the threads' heaps (and, in a diagonal block, the row's own list).
  double* out = same ? out_rows : out_cols;
  tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, width, 64), [&](const auto& range) {
    std::vector<Neighbor> list;
    for (std::uint32_t j = range.begin(); j != range.end(); ++j) {
      list.clear();
      double* row = out + static_cast<std::size_t>(j) * 2 * k;
      if (same) DecodeRow(row, k, &list);
      for (const auto& s : tls) s.cols.Append(j, &list);
      SelectTopK(&list, k);
      EncodeRow(list, k, row);
    }
  });
  return 2 * pairs.load();
}

}  // namespace

std::uint64_t ComputeBlock(const EntityBlock& rows, const EntityBlock& cols, const SimilarityOptions& o,
                           double* out_rows, double* out_cols) {
  const auto& rn = rows.norm2;
  const auto& cn = cols.norm2;
  const auto& ri = rows.inv_norm;
  const auto& ci = cols.inv_norm;
  const bool binary = o.binary || o.measure == Measure::kJaccard;
  switch (o.measure) {
    case Measure::kJaccard:
      return Kernel<CountAcc, false>(
          rows, cols, o, out_rows, out_cols, [](CountAcc& c, float, float) { ++c.n; },
          [&](const CountAcc& c, std::uint32_t i, std::uint32_t j) {
            return c.n / (rn[i] + cn[j] - c.n);
          });
    case Measure::kCosine:
      if (binary) {
        return Kernel<CountAcc, false>(
            rows, cols, o, out_rows, out_cols, [](CountAcc& c, float, float) { ++c.n; },
            [&](const CountAcc& c, std::uint32_t i, std::uint32_t j) { return c.n * ri[i] * ci[j]; });
      }
      return Kernel<DotAcc, true>(
          rows, cols, o, out_rows, out_cols,
          [](DotAcc& c, float a, float b) {
            c.dot += static_cast<double>(a) * b;
            ++c.n;
          },
          [&](const DotAcc& c, std::uint32_t i, std::uint32_t j) { return c.dot * ri[i] * ci[j]; });
    case Measure::kAdjustedCosine:
    case Measure::kPearson:
      return Kernel<CoRatedAcc, true>(
          rows, cols, o, out_rows, out_cols,
          [](CoRatedAcc& c, float a, float b) {
            c.dot += static_cast<double>(a) * b;
            c.sa += static_cast<double>(a) * a;
            c.sb += static_cast<double>(b) * b;
            ++c.n;
          },
          [](const CoRatedAcc& c, std::uint32_t, std::uint32_t) {
            const double d = c.sa * c.sb;
            return d > 0 ? c.dot / std::sqrt(d) : 0.0;
          });
  }
  return 0;
}

}  // namespace ecps::models::cf
