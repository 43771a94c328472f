// ItemScores::Top, a partial selection, against a full sort of every item under the same
// order (scored items by score, ties and the rest by popularity), on seeded random scores
// with many ties, negative sums and seen items.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "models/cf/scoring.h"

namespace ecps::models::cf {
namespace {

TEST(ItemScoresTop, EqualsAFullSortOfEveryItem) {
  std::mt19937 rng(20261206);
  constexpr std::uint32_t kItems = 300;
  std::vector<std::uint32_t> counts(kItems);
  for (auto& c : counts) c = rng() % 7;  // many popularity ties: broken by index
  const Popularity pop = Popularity::From(counts);
  ItemScores scores(kItems);
  std::vector<Scored> top;
  for (int round = 0; round < 200; ++round) {
    scores.Clear();
    const int adds = static_cast<int>(rng() % 400);
    for (int a = 0; a < adds; ++a) {
      const double sim = (static_cast<int>(rng() % 9) - 2) * 0.25;  // ties, zeros, negatives
      scores.Add(static_cast<std::uint32_t>(rng() % kItems), sim, 1.0 + rng() % 2);
    }
    scores.Finish(round % 2 ? Scoring::kSum : Scoring::kAverage);
    std::vector<std::uint32_t> seen;
    for (std::uint32_t j = 0; j < kItems; ++j) {
      if (rng() % 5 == 0) seen.push_back(j);
    }
    std::vector<std::uint32_t> all(kItems);
    std::iota(all.begin(), all.end(), 0u);
    std::erase_if(all, [&](std::uint32_t j) { return Contains(seen, j); });
    std::sort(all.begin(), all.end(),
              [&](std::uint32_t a, std::uint32_t b) { return scores.Before(a, b, pop); });
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{10}, std::size_t{500}}) {
      for (bool fill : {false, true}) {
        scores.Top(n, seen, pop, fill, &top);
        std::vector<std::uint32_t> want;
        for (std::uint32_t j : all) {
          if (want.size() < n && (fill || scores.Scored(j))) want.push_back(j);
        }
        std::vector<std::uint32_t> got;
        for (const auto& s : top) got.push_back(s.item);
        ASSERT_EQ(got, want) << "round " << round << " n " << n << " fill " << fill;
        for (const auto& s : top) EXPECT_EQ(s.score, scores.Scored(s.item) ? scores.Score(s.item) : 0.0);
      }
    }
  }
}

}  // namespace
}  // namespace ecps::models::cf
