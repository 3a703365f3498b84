// The reconciler's pass summary against a real redis-server.
#include "kubesync/state/pass_summary.h"

#include <gtest/gtest.h>

#include "kubesync/state/testing/redis_server.h"

namespace kubesync::state {
namespace {

TEST(PassSummaryTest, WrittenThenReadBackWhole) {
  auto server = testing::RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto redis = RedisClient::Connect({.url = (*server)->url()});
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();

  auto none = ReadPassSummary(**redis, "dr.live");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());

  PassSummary s{.finished_at_unix_ms = 1765130000123,
                .duration_ms = 2500,
                .missing = 1,
                .stale = 2,
                .extra = 3,
                .written = 3,
                .deleted = 0,
                .failed_resources = 1,
                .guard_tripped = true,
                .dry_run = false};
  ASSERT_TRUE(WritePassSummary(**redis, "dr.live", s).ok());
  auto back = ReadPassSummary(**redis, "dr.live");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, s);
  EXPECT_FALSE((*back)->in_sync());
  EXPECT_TRUE(PassSummary{}.in_sync());

  ASSERT_TRUE((*redis)->Command({"HSET", "kubesync:dr.live:reconciler", "missing", "many"}).ok());
  auto bad = ReadPassSummary(**redis, "dr.live");
  EXPECT_EQ(bad.status().code(), Code::kInternal);
  EXPECT_EQ(bad.status().message(), "reconciler pass summary: field missing is not a number: \"many\"");

  EXPECT_EQ(PassSummaryKey("dr.*").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kubesync::state
