#include "ps/status.h"

#include <gtest/gtest.h>

namespace ecps {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  ECPS_ASSIGN_OR_RETURN(int h, Half(x));
  ECPS_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(Status, ContextIsPrefixed) {
  Status s = PeerLost("peer 5 gone").WithContext("recv").WithContext("pull shard 2");
  EXPECT_EQ(s.code(), StatusCode::kPeerLost);
  EXPECT_EQ(s.message(), "pull shard 2: recv: peer 5 gone");
  EXPECT_EQ(s.ToString(), "peer lost: pull shard 2: recv: peer 5 gone");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(Status, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

}  // namespace
}  // namespace ecps
