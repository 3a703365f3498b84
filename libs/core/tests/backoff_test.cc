#include "kubesync/core/backoff.h"

#include <gtest/gtest.h>

namespace kubesync {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsToCapWithoutJitter) {
  Backoff b({.initial = milliseconds(100), .max = milliseconds(1000), .multiplier = 2.0, .jitter = 0.0},
            [] { return 0.5; });
  EXPECT_EQ(b.Next(), milliseconds(100));
  EXPECT_EQ(b.Next(), milliseconds(200));
  EXPECT_EQ(b.Next(), milliseconds(400));
  EXPECT_EQ(b.Next(), milliseconds(800));
  EXPECT_EQ(b.Next(), milliseconds(1000));
  EXPECT_EQ(b.Next(), milliseconds(1000));
  EXPECT_EQ(b.attempts(), 6);
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(100));
}

TEST(BackoffTest, JitterStaysInBandAndUnderMax) {
  double r = 0.0;
  Backoff b({.initial = milliseconds(100), .max = milliseconds(150), .multiplier = 2.0, .jitter = 0.5},
            [&] { return r; });
  EXPECT_EQ(b.Next(), milliseconds(50));   // 100 * (1 - 0.5)
  r = 0.999999;
  EXPECT_EQ(b.Next(), milliseconds(150));  // 150 * 1.5 capped at max
}

TEST(BackoffTest, DefaultRandomIsWithinJitterBand) {
  Backoff b({.initial = milliseconds(1000), .max = milliseconds(10'000), .multiplier = 1.0, .jitter = 0.2});
  for (int i = 0; i < 100; ++i) {
    auto d = b.Next();
    EXPECT_GE(d, milliseconds(800));
    EXPECT_LE(d, milliseconds(1200));
  }
}

}  // namespace
}  // namespace kubesync
