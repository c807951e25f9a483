#include "base/result.h"

#include <gtest/gtest.h>

namespace vudo {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Err(ErrorCode::kInvalidArgument, "{} is odd", x);
  return x / 2;
}

Result<int> Quarter(int x) {
  VUDO_ASSIGN_OR_RETURN(int h, Half(x));
  VUDO_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  VUDO_TRY(Half(x));
  return Ok();
}

TEST(ResultTest, PropagatesValuesAndErrors) {
  EXPECT_EQ(Quarter(8).value(), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "3 is odd");
  EXPECT_EQ(r.error().ToString(), "invalid_argument: 3 is odd");
  EXPECT_TRUE(CheckEven(4));
  EXPECT_FALSE(CheckEven(5));
}

TEST(ResultTest, WithContextPrefixes) {
  Error e{ErrorCode::kTruncated, "need 4 bytes"};
  EXPECT_EQ(e.WithContext("ticket").message, "ticket: need 4 bytes");
  EXPECT_EQ(e.WithContext("ticket").code, ErrorCode::kTruncated);
}

}  // namespace
}  // namespace vudo
