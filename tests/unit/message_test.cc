#include "ps/message.h"

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>
#include <gtest/gtest.h>

namespace ecps::ps {
namespace {

TEST(Blob, BorrowedIsNotCopied) {
  std::vector<Key> keys{1, 2, 3};
  Blob b = Blob::Borrow(keys.data(), keys.size() * sizeof(Key));
  EXPECT_FALSE(b.owned());
  EXPECT_EQ(b.As<Key>().data(), keys.data());
  Blob c = Blob::CopyOf(keys.data(), keys.size() * sizeof(Key));
  EXPECT_TRUE(c.owned());
  EXPECT_NE(c.As<Key>().data(), keys.data());
  EXPECT_EQ(std::vector<Key>(c.As<Key>().begin(), c.As<Key>().end()), keys);
}

TEST(Blob, LargeStorageIsReusedWhereItFits) {
  const std::size_t big = 3'000'017;  // a size no other test allocates
  const std::byte* first = nullptr;
  {
    Blob a = Blob::Allocate(big);
    first = a.data();
    std::memset(a.mutable_data(), 7, big);
  }
  {
    // More than half of the freed buffer: it is taken again, with the size asked for.
    Blob b = Blob::Allocate(big - 1000);
    EXPECT_EQ(b.data(), first);
    EXPECT_EQ(b.size(), big - 1000);
  }
  Blob small = Blob::Allocate(big / 2 - 10);  // under half: a buffer of its own
  EXPECT_NE(small.data(), first);
  Blob tiny = Blob::Allocate(100);  // under kReuseBytes: never cached
  EXPECT_EQ(tiny.size(), 100u);
}

TEST(Control, RoundTrip) {
  std::map<std::string, std::vector<double>> in{{"a", {1.5, 2}}, {"b", {}}};
  Blob b = EncodeControl(in);
  std::map<std::string, std::vector<double>> out;
  ASSERT_TRUE(DecodeControl(b, &out).ok());
  EXPECT_EQ(in, out);
}

TEST(Control, MalformedIsAnErrorNotACrash) {
  Blob b = Blob::FromString("\x05");
  std::vector<std::string> out;
  Status s = DecodeControl(b, &out);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
}

TEST(StatusPayload, KeepsCodeAndMessage) {
  const Status s = DataError("train.txt:3: feature \"x\" is not idx:value");
  EXPECT_EQ(DecodeStatus(EncodeStatus(s), Internal("unreadable")), s);
}

TEST(StatusPayload, AnythingButAFailedStatusIsUnreadable) {
  const Status unreadable = Aborted("aborted (reason unreadable)");
  EXPECT_EQ(DecodeStatus(Blob::FromString("\x05"), unreadable), unreadable);
  EXPECT_EQ(DecodeStatus(EncodeStatus(Status::Ok()), unreadable), unreadable);
  // A code this build does not know (a newer peer, or a corrupted message).
  Blob unknown = EncodeControl(std::pair<int, std::string>(999, "from the future"));
  EXPECT_EQ(DecodeStatus(unknown, unreadable), unreadable);
}

// An element type that counts how many of it were made.
struct Counted {
  static inline std::size_t made = 0;
  Counted() { ++made; }
  std::uint8_t v = 0;
  template <class A>
  void serialize(A& ar) { ar(v); }
};

// A peer's payload of a few bytes that announces 2^24 elements is refused before the vector
// is sized (Cereal's own archive made all 2^24 before finding the data missing).
TEST(Control, HugeLengthIsRefusedBeforeAllocating) {
  const std::uint64_t announced = std::uint64_t{1} << 24;
  std::string bytes(reinterpret_cast<const char*>(&announced), sizeof announced);
  bytes += "\x01\x02";  // two elements follow
  std::vector<Counted> out;
  Counted::made = 0;
  Status s = DecodeControl(Blob::FromString(bytes), &out);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_LE(Counted::made, bytes.size()) << "the decoder sized the vector by the announced length";
}

TEST(Control, LengthsWithinThePayloadStillDecode) {
  const std::vector<std::string> in{"", "a", std::string(1000, 'x')};
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeControl(EncodeControl(in), &out).ok());
  EXPECT_EQ(out, in);
}

// A bool is one byte, 0 or 1; any other byte is refused instead of being loaded as a bool.
TEST(Control, BoolOtherThanZeroOrOneIsRefused) {
  std::pair<bool, int> out;
  Status s = DecodeControl(Blob::FromString(std::string("\x07\x01\x00\x00\x00", 5)), &out);
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.message();
  ASSERT_TRUE(DecodeControl(EncodeControl(std::pair<bool, int>(true, 1)), &out).ok());
  EXPECT_TRUE(out.first);
}

MsgHeader GoodHeader() {
  MsgHeader h;
  h.type = MsgType::kPush;
  h.sender = 2;
  h.receiver = 1;
  h.key_bytes = 3 * sizeof(Key);
  return h;
}

TEST(CheckHeader, AcceptsAHeaderOfTheJob) { EXPECT_TRUE(CheckHeader(GoodHeader(), 4).ok()); }

TEST(CheckHeader, RefusesWhatNoPeerOfTheJobSends) {
  MsgHeader h = GoodHeader();
  h.magic = 0x12345678;
  EXPECT_EQ(CheckHeader(h, 4).code(), StatusCode::kInvalidArgument);
  h = GoodHeader();
  h.type = static_cast<MsgType>(0);
  EXPECT_EQ(CheckHeader(h, 4).code(), StatusCode::kInvalidArgument);
  h.type = static_cast<MsgType>(static_cast<std::uint16_t>(MsgType::kControl) + 1);
  EXPECT_EQ(CheckHeader(h, 4).code(), StatusCode::kInvalidArgument);
  h = GoodHeader();
  h.sender = 4;
  EXPECT_EQ(CheckHeader(h, 4).code(), StatusCode::kInvalidArgument);
  h = GoodHeader();
  h.receiver = -1;
  EXPECT_EQ(CheckHeader(h, 4).code(), StatusCode::kInvalidArgument);
  h = GoodHeader();
  h.key_bytes = 12;
  Status s = CheckHeader(h, 4);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("12 key bytes"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ecps::ps
