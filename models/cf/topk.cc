#include "models/cf/topk.h"

#include <algorithm>

namespace ecps::models::cf {

void SelectTopK(std::vector<Neighbor>* c, std::size_t k) {
  if (c->size() > k) {
    std::nth_element(c->begin(), c->begin() + static_cast<std::ptrdiff_t>(k), c->end(), Better);
    c->resize(k);
  }
  std::sort(c->begin(), c->end(), Better);
}

void EncodeRow(std::span<const Neighbor> best, std::size_t k, double* row) {
  std::size_t i = 0;
  for (; i < best.size() && i < k; ++i) {
    row[2 * i] = static_cast<double>(best[i].id);
    row[2 * i + 1] = best[i].score;
  }
  for (; i < k; ++i) {
    row[2 * i] = -1.0;
    row[2 * i + 1] = 0.0;
  }
}

std::size_t DecodeRow(const double* row, std::size_t k, std::vector<Neighbor>* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < k; ++i) {
    if (row[2 * i] < 0) continue;
    out->push_back({static_cast<std::uint32_t>(row[2 * i]), row[2 * i + 1]});
    ++n;
  }
  return n;
}

void TopKMergeRule::Apply(const ps::RowSpan<double>& rows, const double* pushed) {
  const std::size_t k = rows.width / 2;
  rows.ForEach(pushed, [&](double* stored, double*, const double* p) {
    if (p[0] < 0) return;  // nothing pushed for this row
    scratch_.clear();
    DecodeRow(stored, k, &scratch_);
    DecodeRow(p, k, &scratch_);
    std::sort(scratch_.begin(), scratch_.end(), [](const Neighbor& a, const Neighbor& b) {
      return a.id < b.id || (a.id == b.id && Better(a, b));
    });
    scratch_.erase(std::unique(scratch_.begin(), scratch_.end(),
                               [](const Neighbor& a, const Neighbor& b) { return a.id == b.id; }),
                   scratch_.end());
    SelectTopK(&scratch_, k);
    EncodeRow(scratch_, k, stored);
  });
}

}  // namespace ecps::models::cf
