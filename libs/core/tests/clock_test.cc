#include "kubesync/core/clock.h"

#include <gtest/gtest.h>

#include "kubesync/core/testing/fake_clock.h"

namespace kubesync {
namespace {

using namespace std::chrono;

TEST(Rfc3339Test, FormatsSecondsAndNanos) {
  WallTime t = WallTime(duration_cast<WallTime::duration>(seconds(1'714'557'600) + nanoseconds(904276629)));
  EXPECT_EQ(FormatRfc3339(t), "2024-05-01T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(t, 9), "2024-05-01T10:00:00.904276629Z");
  EXPECT_EQ(FormatRfc3339(t, 3), "2024-05-01T10:00:00.904Z");
}

TEST(Rfc3339Test, ParsesRoundTripAndOffsets) {
  auto t = ParseRfc3339("2024-05-01T10:00:00.904276629Z");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(FormatRfc3339(*t, 9), "2024-05-01T10:00:00.904276629Z");
  auto shifted = ParseRfc3339("2024-05-01T12:30:00+02:30");
  ASSERT_TRUE(shifted.ok());
  EXPECT_EQ(FormatRfc3339(*shifted), "2024-05-01T10:00:00Z");
}

TEST(Rfc3339Test, RejectsGarbageWithMessage) {
  for (const char* bad : {"", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z",
                          "2024-05-01T10:00:00Zjunk", "2024-05-01T10:00:00.Z"}) {
    auto t = ParseRfc3339(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
    EXPECT_NE(t.status().message().find("invalid RFC 3339 time"), std::string::npos);
  }
}

TEST(FakeClockTest, SleepAdvancesBothClocks) {
  testing::FakeClock clock;
  const WallTime w0 = clock.Now();
  const MonoTime m0 = clock.SteadyNow();
  clock.SleepFor(seconds(5));
  EXPECT_EQ(clock.Now() - w0, seconds(5));
  EXPECT_EQ(clock.SteadyNow() - m0, seconds(5));
}

}  // namespace
}  // namespace kubesync
