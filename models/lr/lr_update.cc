#include "models/lr/lr_update.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

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
  if (l1 > 0 && algorithm != Algorithm::kFtrl) {
    return InvalidArgument("--l1 needs --algorithm ftrl (FTRL-Proximal is the sparse one)");
  }
  return Status::Ok();
}

std::unique_ptr<ps::Rule<float>> MakeRule(const UpdateOptions& o) {
  switch (o.algorithm) {
    case Algorithm::kSgd: return std::make_unique<ps::SgdRule<float>>(o.learning_rate);
    case Algorithm::kAdaGrad: return std::make_unique<ps::AdaGradRule<float>>(o.learning_rate);
    case Algorithm::kFtrl: break;
  }
  return std::make_unique<ps::FtrlRule<float>>(ps::FtrlParams{o.alpha, o.beta, o.l1, o.l2});
}

MiniBatchFinalizer::MiniBatchFinalizer(const UpdateOptions& options) : options_(options), rule_(MakeRule(options)) {
  if (options.algorithm == Algorithm::kSgd) sgd_ = static_cast<ps::SgdRule<float>*>(rule_.get());
}

void MiniBatchFinalizer::Accumulate(const ps::RowSpan<float>& rows, const float* pushed) {
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
    // Several workers' sorted lists: their union, summing the gradients of shared keys.
    std::vector<std::pair<ps::Key, float>> all;
    for (const auto& push : p->second) {
      for (std::size_t i = 0; i < push.keys.size(); ++i) all.emplace_back(push.keys[i], push.grads[i]);
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [k, g] : all) {
      if (!keys_.empty() && keys_.back() == k) {
        grads_.back() += g;
      } else {
        keys_.push_back(k);
        grads_.push_back(g);
      }
    }
  }
  if (p != pending_.end()) pending_.erase(p);
  if (keys_.empty()) return;

  const bool decay_l2 = options_.algorithm != Algorithm::kFtrl && options_.l2 > 0;
  if (decay_l2) {
    for (std::size_t i = 0; i < keys_.size(); ++i) grads_[i] += static_cast<float>(options_.l2) * values[keys_[i] - base];
  }
  if (sgd_) sgd_->set_learning_rate(options_.learning_rate / std::sqrt(1.0 + options_.lr_decay * ctx.clock));
  ps::RowSpan<float> rows{values.data(), sw ? state_.data() : nullptr, 1, sw, base, keys_.data(), 0, keys_.size()};
  rule_->Apply(rows, grads_.data());
}

}  // namespace ecps::models::lr
