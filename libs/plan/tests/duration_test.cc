#include <gtest/gtest.h>

#include "kubesync/plan/parse.h"

namespace kubesync::plan {
namespace {

TEST(DurationTest, ParsesGoStyleDurations) {
  EXPECT_EQ(ParseDuration("3h25m12s").value(), std::chrono::seconds(12312));
  EXPECT_EQ(ParseDuration("1h0m0s").value(), std::chrono::hours(1));
  EXPECT_EQ(ParseDuration("90m").value(), std::chrono::minutes(90));
  EXPECT_EQ(ParseDuration("45s").value(), std::chrono::seconds(45));
  EXPECT_EQ(ParseDuration("1.5h").value(), std::chrono::minutes(90));
  EXPECT_EQ(ParseDuration("+2m").value(), std::chrono::minutes(2));
}

TEST(DurationTest, RejectsWithAReason) {
  const std::string want = " (want a duration such as \"1h0m0s\", \"3h25m12s\", \"90m\" or \"45s\")";
  EXPECT_EQ(ParseDuration("").status().message(), "invalid duration \"\": empty" + want);
  EXPECT_EQ(ParseDuration("3600").status().message(),
            "invalid duration \"3600\": missing unit after \"3600\"" + want);
  EXPECT_EQ(ParseDuration("1d").status().message(),
            "invalid duration \"1d\": unknown unit \"d\" (use h, m and s)" + want);
  EXPECT_EQ(ParseDuration("-1h").status().message(), "invalid duration \"-1h\": must be positive" + want);
  EXPECT_EQ(ParseDuration("0s").status().message(), "invalid duration \"0s\": must be positive" + want);
  EXPECT_EQ(ParseDuration("0.5s").status().message(),
            "invalid duration \"0.5s\": must be a whole number of seconds" + want);
  EXPECT_EQ(ParseDuration("h").status().message(),
            "invalid duration \"h\": expected a number at \"h\"" + want);
  EXPECT_EQ(ParseDuration("99999999999999h").status().message(),
            "invalid duration \"99999999999999h\": too long" + want);
  EXPECT_EQ(ParseDuration("1h").status().code(), Code::kOk);
}

TEST(DurationTest, FormatsLikeGo) {
  EXPECT_EQ(FormatDuration(std::chrono::hours(1)), "1h0m0s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(12312)), "3h25m12s");
  EXPECT_EQ(FormatDuration(std::chrono::minutes(90)), "1h30m0s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(45)), "45s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(61)), "1m1s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(0)), "0s");
  for (long long s : {1LL, 59LL, 60LL, 3599LL, 3600LL, 86400LL, 12312LL}) {
    EXPECT_EQ(ParseDuration(FormatDuration(std::chrono::seconds(s))).value().count(), s);
  }
}

}  // namespace
}  // namespace kubesync::plan
