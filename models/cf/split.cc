#include "models/cf/split.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/hash.h"

namespace ecps::models::cf {

double UnitHash(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  std::uint64_t h = util::MixId(
      seed ^ util::MixId(a * 0x9E3779B97F4A7C15ULL + util::MixId(b + 0x632BE59BD9B4E019ULL)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

void SplitUser(std::uint32_t user, std::span<const std::uint32_t> items, const SplitOptions& o,
               std::span<Part> parts) {
  const std::size_t n = items.size();
  std::fill(parts.begin(), parts.end(), Part::kTrain);
  if (o.kind == SplitKind::kNone || n < static_cast<std::size_t>(std::max(o.min_user_interactions, 2))) return;
  const bool validation = o.target == EvalTarget::kValidation;
  if (validation && n < 3) return;  // nothing would be left to train on
  switch (o.kind) {
    case SplitKind::kNone: return;
    case SplitKind::kLeaveLastOut:
      if (validation) {
        parts[n - 1] = Part::kDropped;
        parts[n - 2] = Part::kTarget;
      } else {
        parts[n - 1] = Part::kTarget;
      }
      return;
    case SplitKind::kLeaveOneOut: {
      const auto test = static_cast<std::size_t>(UnitHash(o.seed, user, 1) * static_cast<double>(n));
      if (!validation) {
        parts[test] = Part::kTarget;
        return;
      }
      auto valid = static_cast<std::size_t>(UnitHash(o.seed, user, 2) * static_cast<double>(n - 1));
      if (valid >= test) ++valid;
      parts[test] = Part::kDropped;
      parts[valid] = Part::kTarget;
      return;
    }
    case SplitKind::kHoldout: {
      std::size_t train = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const bool is_test = UnitHash(o.seed, user, items[i]) < o.holdout_fraction;
        const bool is_valid = !is_test && UnitHash(o.seed ^ 0x5A17, user, items[i]) < o.holdout_fraction;
        if (is_test) {
          parts[i] = validation ? Part::kDropped : Part::kTarget;
        } else if (is_valid && validation) {
          parts[i] = Part::kTarget;
        } else {
          ++train;
        }
      }
      // Not evaluable: targets go back to training; dropped test items stay out (tuning
      // never trains on them either).
      bool any_target = std::find(parts.begin(), parts.end(), Part::kTarget) != parts.end();
      if (train == 0 || !any_target) std::replace(parts.begin(), parts.end(), Part::kTarget, Part::kTrain);
      return;
    }
  }
}

}  // namespace ecps::models::cf
