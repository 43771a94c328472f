// Server side of logistic regression: the update applied once per clock to the summed
// mini-batch gradient of every worker.
//
// The weight table is clocked: pushes for clock t (each worker's part of global mini-batch
// t) are summed, and when every worker has finished clock t, MiniBatchFinalizer applies the
// rule (SGD, AdaGrad or FTRL-Proximal, optimizers.h) once to the sum. The update sequence
// is therefore the same for any number of workers, up to the order of float additions.
//
// Semantics: the rules are the per-coordinate online algorithms with one step per global
// mini-batch on the batch's summed gradient (not one step per example). Coordinates absent
// from a batch are not touched: for AdaGrad and FTRL a zero gradient changes nothing, and
// for SGD the L2 term is applied lazily (only to the coordinates a batch touches).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "models/lr/lr_dp.h"
#include "models/lr/optimizers.h"
#include "ps/rules.h"
#include "ps/status.h"

namespace ecps::models::lr {

enum class Algorithm { kSgd, kAdaGrad, kFtrl };
Result<Algorithm> ParseAlgorithm(const std::string& name);
const char* AlgorithmName(Algorithm a);

struct UpdateOptions {
  Algorithm algorithm = Algorithm::kFtrl;
  /// SGD and AdaGrad step size. SGD steps on the batch-mean gradient, AdaGrad on the sum
  /// (its per-coordinate scaling makes the two equivalent up to the initial accumulator).
  double learning_rate = 0.1;
  /// SGD: the step at clock t is learning_rate / sqrt(1 + lr_decay * t).
  double lr_decay = 0.0;
  /// FTRL-Proximal alpha, beta, lambda1 (L1, gives exact zeros) and lambda2. The defaults
  /// were chosen on ipinyou-ctr, online-shoppers and the synthetic CTR set together (see
  /// the README's lr section); lambda1 = 1 drops features seen too rarely to trust.
  double alpha = 0.15;
  double beta = 1.0;
  double l1 = 1.0;
  /// L2 strength: FTRL's lambda2; for SGD and AdaGrad l2 * w is added to the gradient of
  /// the coordinates a batch touches.
  double l2 = 0.0;

  Status Validate() const;
};

/// The core rule the options describe.
std::unique_ptr<ps::Rule<float>> MakeRule(const UpdateOptions& options);

/// Applies the rule once per clock to the rows pushed in that clock. Keeps the rule's
/// per-coordinate state itself (allocated at the first clock). Runs on the server's
/// dispatcher thread like every rule; large clocks are applied in parallel slices with
/// oneTBB (rows are independent).
class MiniBatchFinalizer final : public ps::Finalizer<float> {
 public:
  explicit MiniBatchFinalizer(const UpdateOptions& options);

  void Accumulate(const ps::RowSpan<float>& aggregate_rows, const float* pushed) override;
  /// Without DP, keyed pushes wait in pending_; under DP they are added to the aggregate.
  bool KeepsKeyedPushes() const override;
  void Finalize(const ps::FinalizeContext& ctx, std::span<const float> aggregate,
                std::span<float> values) override;
  /// The rule's state per key (FTRL z and n, AdaGrad's accumulator, none for SGD).
  std::size_t StateWidth() const override { return rule_->StateWidth(1); }
  std::span<const float> State() const override { return state_; }
  void LoadState(std::vector<float> state) override { state_ = std::move(state); }

  /// DP-SGD from now on (call before the first clock; safe beside Finalize on another
  /// thread): each clock below params.steps adds N(0, stddev²) to the summed gradient of
  /// every key of the server's range, multiplies it by grad_scale, and applies the rule to
  /// every key; later clocks change nothing.
  Status EnableDp(const DpServerParams& params, int server_index);
  /// SGD's decaying step counts `clocks` more clocks (a warm start's earlier training); set
  /// before the first clock.
  void set_clock_offset(std::uint64_t clocks) { clock_offset_ = clocks; }

 private:
  void FinalizeDp(const ps::FinalizeContext& ctx, std::span<const float> aggregate, std::span<float> values);

  UpdateOptions options_;
  std::unique_ptr<ps::Rule<float>> rule_;
  SgdRule<float>* sgd_ = nullptr;  // rule_ when it is SGD (for the schedule)
  std::uint64_t clock_offset_ = 0;
  std::vector<float> state_;
  // Pushes of each clock, kept compact (keyed by the address of the clock's aggregate
  // buffer, which the server passes to both Accumulate and Finalize): a clock costs
  // O(keys pushed) rather than O(keys on the server). Dense-range pushes go to the
  // aggregate buffer instead, which is then scanned in full.
  struct Pushed {
    std::vector<ps::Key> keys;
    std::vector<float> grads;
  };
  std::map<const float*, std::vector<Pushed>> pending_;
  std::map<const float*, bool> dense_push_;
  std::vector<ps::Key> keys_;
  std::vector<float> grads_;
  // DP-SGD (EnableDp): set once by another thread before the first clock.
  mutable std::mutex dp_mu_;
  std::unique_ptr<DpServerParams> dp_;
  std::unique_ptr<DpNoise> noise_;
  // DP: the summed gradient of every key (the aggregate, to which Accumulate adds each push
  // directly), then its noise.
  std::vector<float> dense_;
};

}  // namespace ecps::models::lr
