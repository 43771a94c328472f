#include "ps/table.h"

#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>

namespace ecps::ps {
namespace {

TEST(RangePartition, RangesTileTheKeySpace) {
  for (Key n : {1ULL, 7ULL, 100ULL, 1000003ULL}) {
    for (int s = 1; s <= 5; ++s) {
      RangePartition p(n, s);
      Key next = 0;
      for (int i = 0; i < s; ++i) {
        EXPECT_EQ(p.RangeOf(i).begin, next);
        next = p.RangeOf(i).end;
      }
      EXPECT_EQ(next, n);
      for (Key k = 0; k < std::min<Key>(n, 500); ++k) {
        int owner = p.ServerOf(k);
        EXPECT_TRUE(p.RangeOf(owner).Contains(k)) << "n=" << n << " s=" << s << " k=" << k;
      }
    }
  }
}

TEST(RangePartition, SplitSortedKeys) {
  RangePartition p(100, 3);  // [0,33) [33,66) [66,100)
  std::vector<Key> keys{0, 5, 32, 33, 70, 99};
  auto b = p.Split(keys);
  EXPECT_EQ(b, (std::vector<std::size_t>{0, 3, 4, 6}));
  std::vector<Key> none;
  EXPECT_EQ(p.Split(none), (std::vector<std::size_t>{0, 0, 0, 0}));
}

TEST(TableSpec, ValidateRejectsEmptyShapes) {
  TableSpec t{1, "w", ValueType::kFloat32, 1, 10, false};
  EXPECT_TRUE(t.Validate().ok());
  t.width = 0;
  EXPECT_EQ(t.Validate().code(), StatusCode::kInvalidArgument);
  t.width = 1;
  t.num_keys = 0;
  EXPECT_EQ(t.Validate().code(), StatusCode::kInvalidArgument);
}

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

TEST(Keys, SortedUnique) {
  std::vector<Key> ok{1, 2, 9}, dup{1, 1}, down{3, 2};
  EXPECT_TRUE(SortedUnique(ok));
  EXPECT_FALSE(SortedUnique(dup));
  EXPECT_FALSE(SortedUnique(down));
}

}  // namespace
}  // namespace ecps::ps
