// The rating task's baseline, residuals and evaluation on one worker (mf_state.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "models/mf/mf_state.h"

namespace ecps::models::mf {
namespace {

double Value(std::span<const float> values, std::size_t t) {
  return values.empty() ? 1.0 : static_cast<double>(values[t]);
}

double Dot(const double* a, const double* b, std::size_t f) {
  double s = 0;
  for (std::size_t k = 0; k < f; ++k) s += a[k] * b[k];
  return s;
}

}  // namespace

RatingStats LocalRatingStats(const cf::OwnUsers& own) {
  RatingStats s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  for (std::size_t p = 0; p < own.size(); ++p) {
    const auto values = own.Values(p);
    for (std::size_t t = 0; t < own.Train(p).size(); ++t) {
      const double r = Value(values, t);
      s.sum += r;
      s.count += 1;
      s.min = std::min(s.min, r);
      s.max = std::max(s.max, r);
    }
  }
  return s;
}

void CombineRatingStats(const std::vector<RatingStats>& all, RatingBaseline* base) {
  double sum = 0, count = 0;
  base->min = std::numeric_limits<double>::infinity();
  base->max = -base->min;
  for (const auto& s : all) {
    sum += s.sum;
    count += s.count;
    base->min = std::min(base->min, s.min);
    base->max = std::max(base->max, s.max);
  }
  base->mu = count > 0 ? sum / count : 0.0;
  if (count == 0) base->min = base->max = 0;
}

std::vector<double> BlockItemBiases(const ItemBlockRows& blk, const RatingBaseline& base) {
  std::vector<double> bias(blk.end - blk.begin, 0.0);
  for (std::size_t i = 0; i < bias.size(); ++i) {
    double s = 0;
    for (std::uint64_t q = blk.ptr[i]; q < blk.ptr[i + 1]; ++q) {
      s += Value(blk.val, static_cast<std::size_t>(q)) - base.mu;
    }
    bias[i] = s / (kItemBiasShrink + static_cast<double>(blk.ptr[i + 1] - blk.ptr[i]));
  }
  return bias;
}

void OwnUserBiases(const cf::OwnUsers& own, RatingBaseline* base) {
  base->own_bias.assign(own.size(), 0.0);
  for (std::size_t p = 0; p < own.size(); ++p) {
    const auto items = own.Train(p);
    const auto values = own.Values(p);
    double s = 0;
    for (std::size_t t = 0; t < items.size(); ++t) {
      s += Value(values, t) - base->mu - base->item_bias[items[t]];
    }
    base->own_bias[p] = s / (kUserBiasShrink + static_cast<double>(items.size()));
  }
}

void Residuals(const cf::OwnUsers& own, const ItemBlockRows& blk,
               std::span<const double> blk_user_bias, RatingBaseline* base) {
  base->own_residual.resize(own.train_item.size());
  for (std::size_t p = 0; p < own.size(); ++p) {
    const auto items = own.Train(p);
    const auto values = own.Values(p);
    for (std::size_t t = 0; t < items.size(); ++t) {
      base->own_residual[own.train_ptr[p] + t] =
          Value(values, t) - base->mu - base->own_bias[p] - base->item_bias[items[t]];
    }
  }
  base->blk_residual.resize(blk.col.size());
  for (std::uint32_t j = blk.begin; j < blk.end; ++j) {
    const std::size_t i = j - blk.begin;
    for (std::uint64_t q = blk.ptr[i]; q < blk.ptr[i + 1]; ++q) {
      const auto qq = static_cast<std::size_t>(q);
      base->blk_residual[qq] =
          Value(blk.val, qq) - base->mu - blk_user_bias[blk.col[qq]] - base->item_bias[j];
    }
  }
}

RatingEval EvaluateRatings(const cf::OwnUsers& own, const RatingBaseline& base,
                           std::span<const double> x, std::span<const double> y, std::size_t f) {
  RatingEval e;
  e.mu = base.mu;
  e.min = base.min;
  e.max = base.max;
  auto clip = [&](double r) { return std::clamp(r, base.min, base.max); };
  for (std::size_t p = 0; p < own.size(); ++p) {
    const double* xu = x.data() + p * f;
    const double user = base.mu + base.own_bias[p];
    auto predict = [&](std::uint32_t j) {
      return clip(user + base.item_bias[j] + Dot(xu, y.data() + std::size_t{j} * f, f));
    };
    const auto items = own.Train(p);
    const auto values = own.Values(p);
    for (std::size_t t = 0; t < items.size(); ++t) {
      const double d = predict(items[t]) - Value(values, t);
      e.train_sse += d * d;
      e.train_n += 1;
    }
    const auto targets = own.Targets(p);
    const auto truth = own.TargetValues(p);
    for (std::size_t t = 0; t < targets.size(); ++t) {
      const double r = Value(truth, t);
      const double pred[3] = {predict(targets[t]), clip(base.mu),
                              clip(user + base.item_bias[targets[t]])};
      for (int m = 0; m < 3; ++m) {
        e.sse[m] += (pred[m] - r) * (pred[m] - r);
        e.sae[m] += std::abs(pred[m] - r);
      }
      e.n += 1;
    }
  }
  return e;
}

}  // namespace ecps::models::mf
