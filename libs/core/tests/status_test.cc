#include "kubesync/core/status.h"

#include <gtest/gtest.h>

namespace kubesync {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgumentError("odd value " + std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v) {
  KS_ASSIGN_OR_RETURN(int h, Half(v));
  KS_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckPositive(int v) {
  if (v <= 0) return OutOfRangeError("not positive");
  return OkStatus();
}

Status Both(int a, int b) {
  KS_RETURN_IF_ERROR(CheckPositive(a));
  KS_RETURN_IF_ERROR(CheckPositive(b));
  return OkStatus();
}

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CarriesHttpDetailsAndAnnotates) {
  Status s = AlreadyExistsError("configmaps \"a\" already exists");
  s.WithHttp(409, "AlreadyExists");
  Status annotated = s.Annotate("creating a");
  EXPECT_EQ(annotated.code(), Code::kAlreadyExists);
  EXPECT_EQ(annotated.message(), "creating a: configmaps \"a\" already exists");
  EXPECT_EQ(annotated.http_status(), 409);
  EXPECT_EQ(annotated.reason(), "AlreadyExists");
  EXPECT_EQ(annotated.ToString(), "ALREADY_EXISTS (AlreadyExists): creating a: configmaps \"a\" already exists");
}

TEST(StatusTest, RetryableCodes) {
  EXPECT_TRUE(UnavailableError("x").IsRetryable());
  EXPECT_TRUE(ResourceExhaustedError("x").IsRetryable());
  EXPECT_FALSE(AbortedError("x").IsRetryable());
  EXPECT_FALSE(InvalidArgumentError("x").IsRetryable());
}

TEST(ResultTest, PropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "odd value 3");
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(ResultTest, ReturnIfError) {
  EXPECT_TRUE(Both(1, 2).ok());
  EXPECT_EQ(Both(1, -2).code(), Code::kOutOfRange);
}

}  // namespace
}  // namespace kubesync
