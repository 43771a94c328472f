#include "ps/table.h"

#include <memory>
#include <vector>

#include <set>

#include <gtest/gtest.h>

#include "ps/server_table.h"

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

TEST(Keys, SortedUnique) {
  std::vector<Key> ok{1, 2, 9}, dup{1, 1}, down{3, 2};
  EXPECT_TRUE(SortedUnique(ok));
  EXPECT_FALSE(SortedUnique(dup));
  EXPECT_FALSE(SortedUnique(down));
}

// A push from a peer whose keys are not sorted (first and last inside the shard, one in the
// middle far outside) is refused: nothing is written outside the shard's rows.
TEST(ServerTable, RefusesUnsortedKeysFromAPeer) {
  TableSpec spec;
  spec.id = 1;
  spec.name = "t";
  spec.num_keys = 256;
  FinalizeContext ctx;
  ctx.table = 1;
  ctx.range = KeyRange{64, 128};
  ctx.width = 1;
  TypedServerTable<float> table(spec, ctx, std::make_unique<SumRule<float>>(), nullptr);
  const std::vector<Key> keys{64, 1000000, 100};
  const std::vector<float> values{1, 1, 1};
  Message m;
  m.head.type = MsgType::kPush;
  m.keys = Blob::CopyOf(keys.data(), keys.size() * sizeof(Key));
  m.values = Blob::CopyOf(values.data(), values.size() * sizeof(float));
  m.SyncSizes();
  Status s = table.Push(m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not sorted and unique"), std::string::npos) << s.message();
  m.head.type = MsgType::kPull;
  m.values = Blob();
  m.SyncSizes();
  EXPECT_EQ(table.Pull(m).status().code(), StatusCode::kInvalidArgument);
  // Sorted keys of the shard are still served.
  const std::vector<Key> good{64, 100, 127};
  m.keys = Blob::CopyOf(good.data(), good.size() * sizeof(Key));
  m.SyncSizes();
  auto got = table.Pull(m);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->size(), 3 * sizeof(float));
}

}  // namespace
}  // namespace ecps::ps
