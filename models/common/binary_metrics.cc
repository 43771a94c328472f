#include "models/common/binary_metrics.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <numeric>

namespace ecps::models {

ScoreCounts ScoreCounts::From(std::span<const double> scores, std::span<const int> labels) {
  assert(scores.size() == labels.size());
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  ScoreCounts c;
  for (std::size_t i : order) {
    if (c.scores.empty() || c.scores.back() != scores[i]) {
      c.scores.push_back(scores[i]);
      c.pos.push_back(0);
      c.neg.push_back(0);
    }
    (labels[i] ? c.pos : c.neg).back() += 1;
  }
  return c;
}

void ScoreCounts::Merge(const ScoreCounts& o) {
  ScoreCounts m;
  std::size_t i = 0, j = 0;
  while (i < scores.size() || j < o.scores.size()) {
    double s;
    std::uint64_t p = 0, n = 0;
    if (j == o.scores.size() || (i < scores.size() && scores[i] < o.scores[j])) {
      s = scores[i];
      p = pos[i];
      n = neg[i++];
    } else if (i == scores.size() || o.scores[j] < scores[i]) {
      s = o.scores[j];
      p = o.pos[j];
      n = o.neg[j++];
    } else {
      s = scores[i];
      p = pos[i] + o.pos[j];
      n = neg[i++] + o.neg[j++];
    }
    m.scores.push_back(s);
    m.pos.push_back(p);
    m.neg.push_back(n);
  }
  *this = std::move(m);
}

std::uint64_t ScoreCounts::positives() const { return std::accumulate(pos.begin(), pos.end(), std::uint64_t{0}); }
std::uint64_t ScoreCounts::negatives() const { return std::accumulate(neg.begin(), neg.end(), std::uint64_t{0}); }

double ExactAuc(const ScoreCounts& c) {
  const double P = static_cast<double>(c.positives()), N = static_cast<double>(c.negatives());
  if (P == 0 || N == 0) return std::numeric_limits<double>::quiet_NaN();
  // Walk scores upwards: each positive beats every negative with a lower score, and ties half.
  double wins = 0, neg_below = 0;
  for (std::size_t i = 0; i < c.scores.size(); ++i) {
    wins += static_cast<double>(c.pos[i]) * (neg_below + 0.5 * static_cast<double>(c.neg[i]));
    neg_below += static_cast<double>(c.neg[i]);
  }
  return wins / (P * N);
}

std::optional<F1Point> BestF1(const ScoreCounts& c) {
  const double P = static_cast<double>(c.positives());
  if (P == 0) return std::nullopt;
  // Walk scores downwards: lowering the threshold to scores[i] makes its examples positive.
  std::optional<F1Point> best;
  double tp = 0, fp = 0;
  for (std::size_t i = c.scores.size(); i-- > 0;) {
    tp += static_cast<double>(c.pos[i]);
    fp += static_cast<double>(c.neg[i]);
    const double f1 = 2 * tp / (2 * tp + fp + (P - tp));
    if (!best || f1 > best->f1) best = F1Point{c.scores[i], tp / (tp + fp), tp / P, f1};
  }
  return best;
}

}  // namespace ecps::models
