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
  Finalizer<float>::Accumulate(rows, pushed);
  if (rows.keys) {
    auto& t = touched_[rows.values];
    t.insert(t.end(), rows.keys, rows.keys + rows.n);
  } else {
    dense_push_[rows.values] = true;
  }
}

void MiniBatchFinalizer::Finalize(const ps::FinalizeContext& ctx, std::span<const float> aggregate,
                                  std::span<float> values) {
  const std::size_t sw = rule_->StateWidth(1);
  if (state_.empty() && sw > 0) state_.assign(ctx.range.size() * sw, 0.0f);
  const ps::Key base = ctx.range.begin;
  keys_.clear();
  const float* buf = aggregate.data();
  auto t = touched_.find(buf);
  auto d = dense_push_.find(buf);
  if (t != touched_.end() && d == dense_push_.end()) {
    std::vector<ps::Key>& ks = t->second;
    if (!std::is_sorted(ks.begin(), ks.end()) || std::adjacent_find(ks.begin(), ks.end()) != ks.end()) {
      std::sort(ks.begin(), ks.end());  // several pushes: their union, each key once
      ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    }
    for (ps::Key k : ks) {
      if (aggregate[k - base] != 0.0f) keys_.push_back(k);
    }
  } else if (t != touched_.end() || d != dense_push_.end()) {
    for (std::size_t i = 0; i < aggregate.size(); ++i) {
      if (aggregate[i] != 0.0f) keys_.push_back(base + i);
    }
  }  // else: nobody pushed this clock (the aggregate is a zero buffer)
  if (t != touched_.end()) touched_.erase(t);
  if (d != dense_push_.end()) dense_push_.erase(d);
  if (keys_.empty()) return;

  grads_.resize(keys_.size());
  const bool decay_l2 = options_.algorithm != Algorithm::kFtrl && options_.l2 > 0;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const std::size_t row = keys_[i] - base;
    float g = aggregate[row];
    if (decay_l2) g += static_cast<float>(options_.l2) * values[row];
    grads_[i] = g;
  }
  if (sgd_) sgd_->set_learning_rate(options_.learning_rate / std::sqrt(1.0 + options_.lr_decay * ctx.clock));
  ps::RowSpan<float> rows{values.data(), sw ? state_.data() : nullptr, 1, sw, base, keys_.data(), 0, keys_.size()};
  rule_->Apply(rows, grads_.data());
}

}  // namespace ecps::models::lr
