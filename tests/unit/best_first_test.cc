#include "ps/best_first.h"

#include <vector>

#include <gtest/gtest.h>

namespace ecps::ps {
namespace {

// Entries of width 2: (score, tag); higher score first. Empty entries have score -1.
const auto kValid = [](const double* e) { return e[0] >= 0; };
const auto kBetter = [](const double* e, const double* f) { return e[0] > f[0]; };

TEST(BestFirst, CountLeadingStopsAtTheFirstEmptyEntry) {
  const std::vector<double> list{9, 0, 5, 0, -1, 0, 4, 0};
  EXPECT_EQ(CountLeading(list.data(), 4, 2, kValid), 2u);
  EXPECT_EQ(CountLeading(list.data(), 1, 2, kValid), 1u);
  EXPECT_EQ(CountLeading(list.data(), 0, 2, kValid), 0u);
}

TEST(BestFirst, MergeKeepsTheOrderAndPutsAFirstOnATie) {
  const std::vector<double> a{9, 1, 5, 1, 2, 1};
  const std::vector<double> b{7, 2, 5, 2, 1, 2};
  std::vector<double> out(12, 0.0);
  MergeBestFirst(a.data(), 3, b.data(), 3, 2, kBetter, out.data());
  EXPECT_EQ(out, (std::vector<double>{9, 1, 7, 2, 5, 1, 5, 2, 2, 1, 1, 2}));
  // An empty list on either side copies the other.
  std::vector<double> only(6, 0.0);
  MergeBestFirst(a.data(), 0, b.data(), 3, 2, kBetter, only.data());
  EXPECT_EQ(only, b);
  MergeBestFirst(a.data(), 3, b.data(), 0, 2, kBetter, only.data());
  EXPECT_EQ(only, a);
}

}  // namespace
}  // namespace ecps::ps
