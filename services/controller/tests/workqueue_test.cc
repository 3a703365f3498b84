#include "workqueue.h"

#include <gtest/gtest.h>

#include <thread>

namespace kubesync::controller {
namespace {

TEST(WorkQueueTest, DeduplicatesWaitingKeys) {
  WorkQueue<std::string> q;
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.Get(), "a");
  EXPECT_EQ(q.Get(), "b");
}

TEST(WorkQueueTest, AKeyAddedWhileProcessedComesBackAfterDone) {
  WorkQueue<std::string> q;
  q.Add("a");
  auto key = q.Get();
  ASSERT_EQ(key, "a");
  q.Add("a");
  EXPECT_EQ(q.Len(), 0u) << "never handed out twice at once";
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "a");
}

TEST(WorkQueueTest, AddAfterDeliversOnceDue) {
  WorkQueue<std::string> q;
  const auto start = WorkQueue<std::string>::Clock::now();
  q.AddAfter("later", std::chrono::milliseconds(50));
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Get(), "later");
  EXPECT_GE(WorkQueue<std::string>::Clock::now() - start, std::chrono::milliseconds(50));
}

TEST(WorkQueueTest, ShutDownWakesAWaitingGet) {
  WorkQueue<std::string> q;
  std::optional<std::string> got = "unset";
  std::thread t([&] { got = q.Get(); });
  q.ShutDown();
  t.join();
  EXPECT_FALSE(got.has_value());
}

}  // namespace
}  // namespace kubesync::controller
