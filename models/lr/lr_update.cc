#include "models/lr/lr_update.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace ecps::models::lr {

Result<Algorithm> ParseAlgorithm(const std::string& name) {
  if (name == "sgd") return Algorithm::kSgd;
  if (name == "adagrad") return Algorithm::kAdaGrad;
  if (name == "ftrl") return Algorithm::kFtrl;
  return InvalidArgument(fmt::format("unknown --algorithm \"{}\" (sgd, adagrad or ftrl)", name));
}

const char* AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kSgd: return "sgd";
    case Algorithm::kAdaGrad: return "adagrad";
    case Algorithm::kFtrl: return "ftrl";
  }
  return "?";
}

Status UpdateOptions::Validate() const {
  if (!(learning_rate > 0)) return InvalidArgument(fmt::format("--learning-rate {} must be > 0", learning_rate));
  if (!(lr_decay >= 0)) return InvalidArgument(fmt::format("--lr-decay {} must be >= 0", lr_decay));
  if (!(alpha > 0)) return InvalidArgument(fmt::format("--alpha {} must be > 0", alpha));
  if (!(beta >= 0)) return InvalidArgument(fmt::format("--beta {} must be >= 0", beta));
  if (!(l1 >= 0)) return InvalidArgument(fmt::format("--l1 {} must be >= 0", l1));
  if (!(l2 >= 0)) return InvalidArgument(fmt::format("--l2 {} must be >= 0", l2));
  return Status::Ok();
}

std::unique_ptr<ps::Rule<float>> MakeRule(const UpdateOptions& o) {
  switch (o.algorithm) {
    case Algorithm::kSgd: return std::make_unique<SgdRule<float>>(o.learning_rate);
    case Algorithm::kAdaGrad: return std::make_unique<AdaGradRule<float>>(o.learning_rate);
    case Algorithm::kFtrl: break;
  }
  return std::make_unique<FtrlRule<float>>(FtrlParams{o.alpha, o.beta, o.l1, o.l2});
}

MiniBatchFinalizer::MiniBatchFinalizer(const UpdateOptions& options) : options_(options), rule_(MakeRule(options)) {
  if (options.algorithm == Algorithm::kSgd) sgd_ = static_cast<SgdRule<float>*>(rule_.get());
}

bool MiniBatchFinalizer::KeepsKeyedPushes() const {
  std::lock_guard lock(dp_mu_);
  return !dp_;
}

void MiniBatchFinalizer::Accumulate(const ps::RowSpan<float>& rows, const float* pushed) {
  {
    std::lock_guard lock(dp_mu_);
    if (dp_ && (rows.keys || rows.width != 1)) return Finalizer<float>::Accumulate(rows, pushed);
    if (dp_) {
      // A worker's whole range (FinalizeDp reads every key anyway): added in parallel slices,
      // each key's sum in push order as before.
      float* acc = rows.values + (rows.range_begin - rows.base);
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, rows.n, std::size_t{1} << 16), [&](const auto& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) acc[i] += pushed[i];
      });
      return;
    }
  }
  if (rows.keys) {
    pending_[rows.values].push_back({{rows.keys, rows.keys + rows.n}, {pushed, pushed + rows.n}});
  } else {
    Finalizer<float>::Accumulate(rows, pushed);
    dense_push_[rows.values] = true;
  }
}

void MiniBatchFinalizer::Finalize(const ps::FinalizeContext& ctx, std::span<const float> aggregate,
                                  std::span<float> values) {
  const std::size_t sw = rule_->StateWidth(1);
  if (state_.empty() && sw > 0) state_.assign(ctx.range.size() * sw, 0.0f);
  {
    std::lock_guard lock(dp_mu_);
    if (dp_) return FinalizeDp(ctx, aggregate, values);
  }
  const ps::Key base = ctx.range.begin;
  keys_.clear();
  grads_.clear();
  const float* buf = aggregate.data();
  auto p = pending_.find(buf);
  if (dense_push_.erase(buf)) {
    // Dense pushes went to the aggregate buffer; add the keyed ones to it and scan it all.
    std::vector<float> sum(aggregate.begin(), aggregate.end());
    if (p != pending_.end()) {
      for (const auto& push : p->second) {
        for (std::size_t i = 0; i < push.keys.size(); ++i) sum[push.keys[i] - base] += push.grads[i];
      }
    }
    for (std::size_t i = 0; i < sum.size(); ++i) {
      if (sum[i] != 0.0f) {
        keys_.push_back(base + i);
        grads_.push_back(sum[i]);
      }
    }
  } else if (p != pending_.end() && p->second.size() == 1) {
    keys_.swap(p->second[0].keys);
    grads_.swap(p->second[0].grads);
  } else if (p != pending_.end()) {
    // Several workers' sorted lists: merged pairwise in push order (linear in their length),
    // summing the gradients of shared keys.
    keys_.swap(p->second[0].keys);
    grads_.swap(p->second[0].grads);
    std::vector<ps::Key> mk;
    std::vector<float> mg;
    for (std::size_t q = 1; q < p->second.size(); ++q) {
      const auto& k2 = p->second[q].keys;
      const auto& g2 = p->second[q].grads;
      mk.clear();
      mg.clear();
      mk.reserve(keys_.size() + k2.size());
      mg.reserve(keys_.size() + k2.size());
      std::size_t i = 0, j = 0;
      while (i < keys_.size() || j < k2.size()) {
        if (j == k2.size() || (i < keys_.size() && keys_[i] < k2[j])) {
          mk.push_back(keys_[i]);
          mg.push_back(grads_[i++]);
        } else if (i == keys_.size() || k2[j] < keys_[i]) {
          mk.push_back(k2[j]);
          mg.push_back(g2[j++]);
        } else {
          mk.push_back(keys_[i]);
          mg.push_back(grads_[i++] + g2[j++]);
        }
      }
      keys_.swap(mk);
      grads_.swap(mg);
    }
  }
  if (p != pending_.end()) pending_.erase(p);
  if (keys_.empty()) return;

  const bool decay_l2 = options_.algorithm != Algorithm::kFtrl && options_.l2 > 0;
  if (decay_l2) {
    for (std::size_t i = 0; i < keys_.size(); ++i) grads_[i] += static_cast<float>(options_.l2) * values[keys_[i] - base];
  }
  if (sgd_) sgd_->set_learning_rate(options_.learning_rate / std::sqrt(1.0 + options_.lr_decay * (static_cast<double>(ctx.clock) + static_cast<double>(clock_offset_))));
  // Rows are independent: large clocks are applied in parallel slices (the workers wait for
  // this clock under BSP, so their cores are free).
  constexpr std::size_t kSlice = 8192;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, keys_.size(), kSlice), [&](const auto& r) {
    ps::RowSpan<float> rows{values.data(), sw ? state_.data() : nullptr, 1, sw, base, keys_.data() + r.begin(), 0,
                            r.size()};
    rule_->Apply(rows, grads_.data() + r.begin());
  });
}

Status MiniBatchFinalizer::EnableDp(const DpServerParams& params, int server_index) {
  ECPS_ASSIGN_OR_RETURN(DpNoise noise, DpNoise::Make(params, server_index));
  std::lock_guard lock(dp_mu_);
  dp_ = std::make_unique<DpServerParams>(params);
  noise_ = std::make_unique<DpNoise>(std::move(noise));
  return Status::Ok();
}

void MiniBatchFinalizer::FinalizeDp(const ps::FinalizeContext& ctx, std::span<const float> aggregate,
                                    std::span<float> values) {
  if (static_cast<std::uint64_t>(ctx.clock) >= dp_->steps) return;  // e.g. SSP's trailing empty clocks
  const std::size_t n = ctx.range.size();
  const ps::Key base = ctx.range.begin;
  dense_.resize(aggregate.size());  // AddTo copies the pushes' sums (Accumulate; 0 elsewhere) chunk by chunk
  const auto scale = static_cast<float>(dp_->grad_scale);
  const float l2 = options_.algorithm != Algorithm::kFtrl ? static_cast<float>(options_.l2) : 0.0f;
  const std::size_t sw = rule_->StateWidth(1);
  if (sgd_) sgd_->set_learning_rate(options_.learning_rate / std::sqrt(1.0 + options_.lr_decay * (static_cast<double>(ctx.clock) + static_cast<double>(clock_offset_))));
  // Every key, pushed or not: each chunk gets its noise, then the rule, while it is in cache.
  noise_->AddTo(dense_, dp_->stddev, [&](std::size_t lo, std::size_t hi) {
    float* g = dense_.data();
    for (std::size_t i = lo; i < hi; ++i) g[i] = g[i] * scale + l2 * values[i];
    ps::RowSpan<float> rows{values.data(), sw ? state_.data() : nullptr, 1, sw, base, nullptr, base + lo, hi - lo};
    rule_->Apply(rows, g + lo);
  }, aggregate.data());
  // The next clock's normals, drawn while the workers compute it.
  if (static_cast<std::uint64_t>(ctx.clock) + 1 < dp_->steps) noise_->DrawAhead(n);
}

}  // namespace ecps::models::lr
