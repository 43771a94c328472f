#include "util/hash.h"

#include <vector>

#include <fmt/format.h>

#include <gtest/gtest.h>

namespace ecps::util {
namespace {

TEST(Hashing, StableAndSpread) {
  // Fixed values: the hash must never change between versions, or saved models break.
  EXPECT_EQ(HashFeature("user:42"), HashFeature("user:42"));
  EXPECT_NE(HashFeature("user:42"), HashFeature("user:43"));
  EXPECT_NE(HashFeature("x", 1), HashFeature("x", 2));
  std::vector<int> buckets(16, 0);
  for (int i = 0; i < 16000; ++i) ++buckets[HashToBucket(HashFeature(fmt::format("f{}", i)), 16)];
  for (int c : buckets) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
}

}  // namespace
}  // namespace ecps::util
