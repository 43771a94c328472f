// The closed sets of CF options as enums, each with its spellings: the command line takes
// them (launch/commands/cf_command.cc), metrics.json and model.ecps write them.
#pragma once

#include <optional>
#include <cstddef>
#include <string>
#include <string_view>

#include "models/cf/scoring.h"
#include "models/cf/similarity.h"
#include "models/cf/split.h"
#include "worker/interactions.h"

namespace ecps::models::cf {

/// What the neighbour lists are of: items (itemcf) or users (usercf).
enum class CfKind { kItemCf, kUserCf };
/// How interactions count: implicit (every interaction counts 1: ranking for top-N lists),
/// explicit (ratings; with scoring auto, predicted ratings) or auto (implicit, except that a
/// rating column is read for the similarities that centre ratings).
enum class Feedback { kAuto, kImplicit, kExplicit };
/// How scores are combined (scoring.h); auto: average with --feedback explicit (rating
/// prediction), sum otherwise (ranking).
enum class ScoringChoice { kAuto, kSum, kAverage };

/// One value of a closed set and its spelling.
template <class E>
struct Choice {
  std::string_view text;
  E value;
};

// The spellings, in the order the help lists them.
inline constexpr Choice<CfKind> kKinds[] = {{"itemcf", CfKind::kItemCf},
                                            {"usercf", CfKind::kUserCf}};
inline constexpr Choice<worker::HeaderMode> kHeaderModes[] = {{"auto", worker::HeaderMode::kAuto},
                                                              {"yes", worker::HeaderMode::kYes},
                                                              {"no", worker::HeaderMode::kNo}};
inline constexpr Choice<Feedback> kFeedbacks[] = {{"auto", Feedback::kAuto},
                                                  {"implicit", Feedback::kImplicit},
                                                  {"explicit", Feedback::kExplicit}};
inline constexpr Choice<Measure> kMeasures[] = {{"cosine", Measure::kCosine},
                                                {"adjusted-cosine", Measure::kAdjustedCosine},
                                                {"pearson", Measure::kPearson},
                                                {"jaccard", Measure::kJaccard}};
inline constexpr Choice<ScoringChoice> kScorings[] = {{"auto", ScoringChoice::kAuto},
                                                      {"sum", ScoringChoice::kSum},
                                                      {"average", ScoringChoice::kAverage}};
inline constexpr Choice<SplitKind> kSplitKinds[] = {{"none", SplitKind::kNone},
                                                    {"leave-last-out", SplitKind::kLeaveLastOut},
                                                    {"leave-one-out", SplitKind::kLeaveOneOut},
                                                    {"holdout", SplitKind::kHoldout}};
inline constexpr Choice<EvalTarget> kEvalTargets[] = {{"test", EvalTarget::kTest},
                                                      {"validation", EvalTarget::kValidation}};

/// The spelling of `value` among `choices` ("" when it is not one of them).
template <class E, std::size_t N>
constexpr std::string_view SpellingOf(const Choice<E> (&choices)[N], E value) {
  for (const auto& c : choices) {
    if (c.value == value) return c.text;
  }
  return {};
}

/// The value spelled `text` among `choices` (exactly, case included).
template <class E, std::size_t N>
constexpr std::optional<E> FindChoice(const Choice<E> (&choices)[N], std::string_view text) {
  for (const auto& c : choices) {
    if (c.text == text) return c.value;
  }
  return std::nullopt;
}

}  // namespace ecps::models::cf
