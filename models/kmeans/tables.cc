#include "models/kmeans/tables.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ps/best_first.h"

namespace ecps::models::kmeans {

TableLayout TableLayout::For(std::size_t k, std::size_t d) {
  TableLayout t;
  t.k = k;
  t.d = d;
  t.m = std::min<std::size_t>(k, 64);
  t.sums = std::max<std::size_t>({d + 2, k + 3, 4});  // d + 2: --impute's counts (impute.h)
  t.maxes = 2 * d;
  return t;
}

std::vector<ps::TableSpec> TableLayout::Specs() const {
  return {
      {kStatsTable, "kmeans.stats", ps::ValueType::kFloat64, static_cast<std::uint32_t>(stats_width()), k, true},
      {kReduceTable, "kmeans.reduce", ps::ValueType::kFloat64, static_cast<std::uint32_t>(reduce_width()), 1, true},
      {kTopTable, "kmeans.top", ps::ValueType::kFloat64, static_cast<std::uint32_t>(top_width()), 1, true},
  };
}

// ---- kmeans.stats ------------------------------------------------------------------------

void StatsFinalizer::Finalize(const ps::FinalizeContext& ctx, std::span<const double> aggregate,
                              std::span<double> values) {
  const std::size_t w = ctx.width, d = d_;
  for (std::size_t r = 0; r < ctx.range.size(); ++r) {
    const double* a = aggregate.data() + r * w;
    double* v = values.data() + r * w;
    const double count = a[d];
    if (count > 0) {
      for (std::size_t f = 0; f < d; ++f) v[f] = a[f] / count;
    }
    // An empty cluster keeps its previous centroid; its count says it is empty.
    v[d] = count;
  }
}

// ---- kmeans.reduce -----------------------------------------------------------------------

void ReduceFinalizer::Accumulate(const ps::RowSpan<double>& rows, const double* pushed) {
  const std::size_t s = sums_, mx = maxes_;
  rows.ForEach(pushed, [s, mx](double* acc, double*, const double* p) {
    if (acc[0] == 0) {  // first push of the clock: nothing to combine with
      std::memcpy(acc, p, (1 + s + mx) * sizeof(double));
      return;
    }
    for (std::size_t j = 0; j <= s; ++j) acc[j] += p[j];
    for (std::size_t j = 1 + s; j < 1 + s + mx; ++j) acc[j] = std::max(acc[j], p[j]);
  });
}

void ReduceFinalizer::Finalize(const ps::FinalizeContext&, std::span<const double> aggregate,
                               std::span<double> values) {
  std::copy(aggregate.begin(), aggregate.end(), values.begin());
}

// ---- kmeans.top --------------------------------------------------------------------------

void MergeTop(const double* a, const double* b, std::size_t m, std::size_t w, double* out) {
  const auto valid = [](const double* e) { return e[0] != 0; };
  const auto better = [](const double* e, const double* f) { return Better(e[1], e[2], f[1], f[2]); };
  const std::size_t na = ps::CountLeading(a, m, w, valid), nb = ps::CountLeading(b, m, w, valid);
  std::vector<double> merged((na + nb) * w);
  ps::MergeBestFirst(a, na, b, nb, w, better, merged.data());
  const std::size_t kept = std::min(m, na + nb) * w;
  std::copy(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(kept), out);
  std::fill(out + kept, out + m * w, 0.0);
}

void TopFinalizer::Accumulate(const ps::RowSpan<double>& rows, const double* pushed) {
  const std::size_t m = m_, w = w_;
  std::vector<double> merged(m * w);
  rows.ForEach(pushed, [&](double* acc, double*, const double* p) {
    MergeTop(acc, p, m, w, merged.data());
    std::copy(merged.begin(), merged.end(), acc);
  });
}

void TopFinalizer::Finalize(const ps::FinalizeContext&, std::span<const double> aggregate,
                            std::span<double> values) {
  std::copy(aggregate.begin(), aggregate.end(), values.begin());
}

std::vector<TopEntry> ReadTop(std::span<const double> row, std::size_t m, std::size_t w) {
  std::vector<TopEntry> out;
  for (std::size_t i = 0; i < m && (i + 1) * w <= row.size(); ++i) {
    const double* e = row.data() + i * w;
    if (e[0] == 0) break;
    out.push_back({e[1], e[2], e + 3});
  }
  return out;
}

// ---- TopList -----------------------------------------------------------------------------

void TopList::Offer(double score, double tie, const double* payload) {
  if (!WouldKeep(score, tie)) return;
  Entry e{score, tie, std::vector<double>(payload, payload + payload_)};
  auto pos = std::find_if(entries_.begin(), entries_.end(),
                          [&](const Entry& x) { return Better(score, tie, x.score, x.tie); });
  entries_.insert(pos, std::move(e));
  if (entries_.size() > m_) entries_.pop_back();
}

void TopList::Merge(const TopList& other) {
  for (const auto& e : other.entries_) Offer(e.score, e.tie, e.payload.data());
}

std::vector<double> TopList::Row() const {
  const std::size_t w = 3 + payload_;
  std::vector<double> row(m_ * w, 0.0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    double* e = row.data() + i * w;
    e[0] = 1.0;
    e[1] = entries_[i].score;
    e[2] = entries_[i].tie;
    std::copy(entries_[i].payload.begin(), entries_[i].payload.end(), e + 3);
  }
  return row;
}

}  // namespace ecps::models::kmeans
