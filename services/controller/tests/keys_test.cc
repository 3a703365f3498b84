#include "keys.h"

#include <gtest/gtest.h>

namespace kubesync::controller {
namespace {

TEST(QueueKeyTest, RoundTripsEveryKind) {
  for (const QueueKey& key : {QueueKey::LiveSync("dr", "shop.standby"), QueueKey::Cluster("dr", "source"),
                              QueueKey::TaskRun("00ff00ff00ff00ff", "dr", "activate"),
                              QueueKey{Kind::kSynchronization, "", "bad", "zk"},
                              QueueKey{Kind::kSynchronizationPlan, "", "bad", "plan"}}) {
    auto parsed = QueueKey::Parse(key.ToString());
    ASSERT_TRUE(parsed.ok()) << key.ToString() << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, key) << key.ToString();
  }
  EXPECT_EQ(QueueKey::TaskRun("c1", "dr", "run").ToString(), "TaskRun/c1/dr/run");
  EXPECT_EQ(QueueKey::LiveSync("dr", "ls").ObjectKey(), "dr/ls");
}

TEST(QueueKeyTest, RefusesMalformedKeysNamingTheProblem) {
  auto unknown = QueueKey::Parse("Pod/dr/x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "queue key \"Pod/dr/x\": unknown kind");
  auto short_taskrun = QueueKey::Parse("TaskRun/dr/x");
  ASSERT_FALSE(short_taskrun.ok());
  EXPECT_EQ(short_taskrun.status().message(), "queue key \"TaskRun/dr/x\": want 4 parts separated by '/'");
  auto empty = QueueKey::Parse("LiveSynchronization/dr/");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "queue key \"LiveSynchronization/dr/\": empty name");
}

TEST(QueueKeyTest, KeysOfDifferentClustersDiffer) {
  EXPECT_NE(QueueKey::TaskRun("a", "dr", "run"), QueueKey::TaskRun("b", "dr", "run"));
  EXPECT_LT(QueueKey::LiveSync("a", "x"), QueueKey::LiveSync("b", "x"));
}

}  // namespace
}  // namespace kubesync::controller
