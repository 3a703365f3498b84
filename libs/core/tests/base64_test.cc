#include "kubesync/core/base64.h"

#include <gtest/gtest.h>

namespace kubesync {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
}

TEST(Base64Test, SkipsWhitespaceAndRejectsGarbage) {
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_FALSE(Base64Decode("Zm8").has_value());
  EXPECT_FALSE(Base64Decode("Zm=8").has_value());
  EXPECT_FALSE(Base64Decode("Z===").has_value());
  EXPECT_FALSE(Base64Decode("Zm8=Zm8=").has_value());
  EXPECT_FALSE(Base64Decode("Zm_v").has_value());
}

}  // namespace
}  // namespace kubesync
