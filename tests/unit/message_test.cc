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

}  // namespace
}  // namespace ecps::ps
