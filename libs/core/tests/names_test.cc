#include "kubesync/core/names.h"

#include <gtest/gtest.h>

#include <string>

namespace kubesync::names {
namespace {

TEST(NamesTest, Dns1123Label) {
  EXPECT_TRUE(IsDns1123Label("a"));
  EXPECT_TRUE(IsDns1123Label("team-a"));
  EXPECT_TRUE(IsDns1123Label("0abc9"));
  EXPECT_TRUE(IsDns1123Label(std::string(63, 'a')));
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(IsDns1123Label(""));
  EXPECT_FALSE(IsDns1123Label("-a"));
  EXPECT_FALSE(IsDns1123Label("a-"));
  EXPECT_FALSE(IsDns1123Label("Team"));
  EXPECT_FALSE(IsDns1123Label("a.b"));
  EXPECT_FALSE(IsDns1123Label("a_b"));
}

TEST(NamesTest, Dns1123Subdomain) {
  EXPECT_TRUE(IsDns1123Subdomain("apps"));
  EXPECT_TRUE(IsDns1123Subdomain("automation.astronetes.io"));
  EXPECT_TRUE(IsDns1123Subdomain("kube-root-ca.crt"));
  // Built by appending: GCC 12 warns (array-bounds) on chains of string temporaries.
  std::string longest(63, 'a');
  longest.append(".").append(63, 'b');
  EXPECT_TRUE(IsDns1123Subdomain(longest));
  longest.append(".").append(63, 'c').append(".").append(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  EXPECT_TRUE(IsDns1123Subdomain(longest));
  longest.append("d");
  EXPECT_FALSE(IsDns1123Subdomain(longest));
  EXPECT_FALSE(IsDns1123Subdomain(std::string(64, 'a')));  // one label past 63
  EXPECT_FALSE(IsDns1123Subdomain(""));
  EXPECT_FALSE(IsDns1123Subdomain("a..b"));
  EXPECT_FALSE(IsDns1123Subdomain(".a"));
  EXPECT_FALSE(IsDns1123Subdomain("a."));
  EXPECT_FALSE(IsDns1123Subdomain("a.-b"));
  EXPECT_FALSE(IsDns1123Subdomain("Apps"));
  EXPECT_FALSE(IsDns1123Subdomain("a/b"));
}

}  // namespace
}  // namespace kubesync::names
