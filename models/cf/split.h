// Evaluation splits of one user's interactions, decided per user from the user's own
// history and a seeded hash of (seed, user, item), so the split is the same whatever the
// number of workers.
//
//   leave-last-out: the last interaction (by timestamp, else file order) is the test item,
//                   the second-to-last the validation item;
//   leave-one-out:  one random interaction is the test item, another the validation item;
//   holdout:        each interaction is a test item with probability f; each remaining one
//                   a validation item with probability f.
// Evaluating on the test items trains on everything else (validation items included);
// evaluating on the validation items trains on what is neither test nor validation and
// drops the test items entirely, so tuning never sees them. Users with fewer than
// `min_user_interactions` interactions, and users whose training part would be empty, stay
// in training only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ps/status.h"

namespace ecps::models::cf {

enum class SplitKind { kNone, kLeaveLastOut, kLeaveOneOut, kHoldout };
enum class EvalTarget { kTest, kValidation };

struct SplitOptions {
  SplitKind kind = SplitKind::kNone;
  EvalTarget target = EvalTarget::kTest;
  /// holdout: probability that an interaction is held out (test), and again (validation).
  double holdout_fraction = 0.2;
  /// Users with fewer interactions are not evaluated (all training).
  int min_user_interactions = 3;
  std::uint64_t seed = 42;
};

/// What becomes of one interaction.
enum class Part : std::uint8_t {
  kTrain,    ///< in the training data
  kTarget,   ///< held out: what the evaluation must find
  kDropped,  ///< held out and not evaluated (the test item while tuning on validation)
};

/// Splits one user's deduplicated interactions; `items` are in time order (oldest first).
/// Writes one Part per item into `parts` (same length).
void SplitUser(std::uint32_t user, std::span<const std::uint32_t> items, const SplitOptions& options,
               std::span<Part> parts);

/// A uniform number in [0, 1) from (seed, a, b): the same on every rank.
double UnitHash(std::uint64_t seed, std::uint64_t a, std::uint64_t b);

}  // namespace ecps::models::cf
