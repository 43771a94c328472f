// ps/table_shard.h: a server table's shard saved with its finalizer's state, loaded back
// (also cut for another split of the key space), and refused while a clock is open.
#include "ps/table_shard.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "ps/message.h"
#include "ps/server_table.h"

namespace ecps::ps {
namespace {

// A clocked finalizer with one state value per row: the number of clocks that touched it;
// the visible value is the running sum of the pushes.
class CountingFinalizer final : public Finalizer<float> {
 public:
  std::size_t StateWidth() const override { return 1; }
  std::span<const float> State() const override { return state_; }
  void LoadState(std::vector<float> state) override { state_ = std::move(state); }
  void Finalize(const FinalizeContext& ctx, std::span<const float> agg, std::span<float> values) override {
    if (state_.empty()) state_.assign(ctx.range.size(), 0.0f);
    for (std::size_t i = 0; i < agg.size(); ++i) {
      values[i] += agg[i];
      if (agg[i] != 0.0f) state_[i] += 1.0f;
    }
  }

 private:
  std::vector<float> state_;
};

// A clocked table of `num_keys` keys with this server's `range`.
std::unique_ptr<TypedServerTable<float>> MakeTable(KeyRange range, std::unique_ptr<Finalizer<float>> finalizer,
                                                   Key num_keys = 100) {
  TableSpec spec;
  spec.id = 7;
  spec.name = "t";
  spec.num_keys = num_keys;
  spec.clocked = true;
  FinalizeContext ctx;
  ctx.table = 7;
  ctx.range = range;
  ctx.width = 1;
  return std::make_unique<TypedServerTable<float>>(spec, ctx, std::make_unique<SumRule<float>>(),
                                                   std::move(finalizer));
}

std::unique_ptr<TypedServerTable<float>> MakeTable(KeyRange range) {
  return MakeTable(range, std::make_unique<CountingFinalizer>());
}

Status PushAt(TypedServerTable<float>& t, Clock clock, std::vector<Key> keys, std::vector<float> values) {
  Message m;
  m.head.type = MsgType::kPush;
  m.head.clock = clock;
  m.keys = Blob::CopyOf(keys.data(), keys.size() * sizeof(Key));
  m.values = Blob::CopyOf(values.data(), values.size() * sizeof(float));
  m.SyncSizes();
  return t.Push(m);
}

TEST(TableShard, SavedBetweenClocksLoadsBackAndCutsForAnotherSplit) {
  // Two servers: [0, 50) and [50, 100).
  auto a = MakeTable({0, 50}), b = MakeTable({50, 100});
  ASSERT_TRUE(PushAt(*a, 0, {3, 40}, {1.5f, 2.0f}).ok());
  ASSERT_TRUE(PushAt(*b, 0, {60}, {4.0f}).ok());
  a->FinalizeClock(0);
  b->FinalizeClock(0);
  ASSERT_TRUE(PushAt(*a, 1, {3}, {1.0f}).ok());
  // Clock 1 is open on server a: no shard now.
  EXPECT_EQ(a->Save().status().code(), StatusCode::kFailedPrecondition);
  a->FinalizeClock(1);
  b->FinalizeClock(1);
  auto sa = a->Save(), sb = b->Save();
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(sa->finalizer_width, 1u);
  EXPECT_EQ(sa->Row(3), (std::vector<float>{2.5f, 2.0f}));  // value; touched by both clocks
  EXPECT_EQ(sa->Row(4), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_EQ(sa->present, (std::vector<std::uint32_t>{3, 40}));  // rows never pushed: not held
  EXPECT_EQ(sb->present, (std::vector<std::uint32_t>{10}));

  // Three servers now: [0, 33) [33, 66) [66, 100); the middle one takes rows of both.
  const RangePartition three(100, 3);
  auto mid = SliceShards<float>({*sb, *sa}, three.RangeOf(1));
  ASSERT_TRUE(mid.ok()) << mid.status().message();
  auto m = MakeTable(three.RangeOf(1));
  ASSERT_TRUE(m->Load(*mid).ok());
  ASSERT_TRUE(PushAt(*m, 2, {40, 60}, {1.0f, 1.0f}).ok());
  m->FinalizeClock(2);
  auto again = m->Save();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Row(40), (std::vector<float>{3.0f, 2.0f}));
  EXPECT_EQ(again->Row(60), (std::vector<float>{5.0f, 2.0f}));
  EXPECT_EQ(again->present.size(), 2u);

  // Encoded and decoded (2 of 50 rows held: under 100 bytes).
  const Blob bytes = EncodeControl(*sa);
  EXPECT_LT(bytes.size(), 100u);
  TableShard<float> back;
  ASSERT_TRUE(DecodeControl(bytes, &back).ok());
  EXPECT_EQ(back.present, sa->present);
  EXPECT_EQ(back.packed, sa->packed);
  EXPECT_EQ(back.end, 50u);

  // A shard of another range, or rows nobody saved, are refused.
  EXPECT_EQ(m->Load(*sa).code(), StatusCode::kDataError);
  EXPECT_EQ(SliceShards<float>({*sa}, KeyRange{40, 60}).status().code(), StatusCode::kDataError);
  auto cut = *sa;
  cut.packed.pop_back();
  EXPECT_EQ(SliceShards<float>({cut, *sb}, KeyRange{0, 100}).status().code(), StatusCode::kDataError);
}


// Records each clock's aggregate; with `keeps`, keyed pushes are kept aside (the table may then
// reuse a buffer without clearing it) and only dense ones are added to the aggregate.
class RecordingFinalizer final : public Finalizer<float> {
 public:
  explicit RecordingFinalizer(bool keeps) : keeps_(keeps) {}
  bool KeepsKeyedPushes() const override { return keeps_; }
  void Accumulate(const RowSpan<float>& rows, const float* pushed) override {
    if (keeps_ && rows.keys) return;
    Finalizer<float>::Accumulate(rows, pushed);
  }
  void Finalize(const FinalizeContext&, std::span<const float> agg, std::span<float>) override {
    seen.emplace_back(agg.begin(), agg.end());
  }
  std::vector<std::vector<float>> seen;

 private:
  bool keeps_;
};

Status DensePushAt(TypedServerTable<float>& t, Clock clock, Key begin, std::vector<float> values) {
  Message m;
  m.head.type = MsgType::kPush;
  m.head.clock = clock;
  m.head.range_begin = begin;
  m.head.range_end = begin + values.size();
  m.values = Blob::CopyOf(values.data(), values.size() * sizeof(float));
  m.SyncSizes();
  return t.Push(m);
}

TEST(ServerTable, EachClockAggregatesOnlyItsOwnPushesWhateverBuffersAreReused) {
  for (bool keeps : {false, true}) {
    auto owned = std::make_unique<RecordingFinalizer>(keeps);
    RecordingFinalizer* f = owned.get();
    const auto table = MakeTable({0, 6}, std::move(owned), 6);
    TypedServerTable<float>& t = *table;
    ASSERT_TRUE(PushAt(t, 0, {1, 2}, {1, 2}).ok());
    ASSERT_TRUE(PushAt(t, 0, {2}, {5}).ok());
    t.FinalizeClock(0);
    ASSERT_TRUE(PushAt(t, 1, {2, 3}, {10, 20}).ok());
    ASSERT_TRUE(DensePushAt(t, 1, 4, {7, 8}).ok());
    t.FinalizeClock(1);
    t.FinalizeClock(2);  // nobody pushed
    ASSERT_TRUE(PushAt(t, 3, {0}, {3}).ok());
    t.FinalizeClock(3);
    ASSERT_EQ(f->seen.size(), 4u);
    const std::vector<float> zero(6, 0.0f);
    EXPECT_EQ(f->seen[0], keeps ? zero : std::vector<float>({0, 1, 7, 0, 0, 0})) << keeps;
    EXPECT_EQ(f->seen[1], keeps ? std::vector<float>({0, 0, 0, 0, 7, 8}) : std::vector<float>({0, 0, 10, 20, 7, 8}))
        << keeps;
    EXPECT_EQ(f->seen[2], zero) << keeps;
    EXPECT_EQ(f->seen[3], keeps ? zero : std::vector<float>({3, 0, 0, 0, 0, 0})) << keeps;
  }
}

}  // namespace
}  // namespace ecps::ps
