#include "models/cf/topk.h"

#include <algorithm>

#include "ps/best_first.h"

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
  const auto valid = [](const double* e) { return e[0] >= 0; };
  const auto entry = [](const double* e) {
    return Neighbor{static_cast<std::uint32_t>(e[0]), e[1]};
  };
  const auto better = [&](const double* e, const double* f) { return Better(entry(e), entry(f)); };
  rows.ForEach(pushed, [&](double* stored, double*, const double* p) {
    if (p[0] < 0) return;  // nothing pushed for this row
    const std::size_t ns = ps::CountLeading(stored, k, 2, valid);
    const std::size_t np = ps::CountLeading(p, k, 2, valid);
    const std::size_t merged = ns + np;
    merged_.resize(2 * merged);
    ps::MergeBestFirst(stored, ns, p, np, 2, better, merged_.data());
    std::size_t n = 0;  // entries kept: a twin (same id, so next to it) of the same score goes
    for (std::size_t i = 0; i < merged; ++i) {
      const bool twin = n > 0 && merged_[2 * i] == merged_[2 * n - 2];
      if (!twin) {
        merged_[2 * n] = merged_[2 * i];
        merged_[2 * n + 1] = merged_[2 * i + 1];
        ++n;
        continue;
      }
      if (repeats_ && merged_[2 * i + 1] == merged_[2 * n - 1]) continue;
      if (status_.ok()) {
        const auto key = rows.base + static_cast<ps::Key>((stored - rows.values) / rows.width);
        const auto id = static_cast<std::uint32_t>(merged_[2 * i]);
        status_ =
            Internal("id " + std::to_string(id) + " pushed twice for key " + std::to_string(key));
      }
      return;
    }
    const std::size_t kept = std::min(n, k);
    std::copy_n(merged_.data(), 2 * kept, stored);
    EncodeRow({}, k - kept, stored + 2 * kept);  // pads with id -1
  });
}

}  // namespace ecps::models::cf
