#include "workqueue.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "kubesync/core/testing/fake_clock.h"

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
  const auto start = std::chrono::steady_clock::now();
  q.AddAfter("later", std::chrono::milliseconds(50));
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Get(), "later");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
}

TEST(WorkQueueTest, AddAfterFollowsTheInjectedClock) {
  kubesync::testing::FakeClock clock;
  WorkQueue<std::string> q(&clock);
  q.AddAfter("later", std::chrono::hours(1));  // never due on a real clock within the test
  q.Add("now");
  EXPECT_EQ(q.Get(), "now");
  q.Done("now");
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(q.Get(), "later");
}

TEST(WorkQueueTest, ShutDownWakesAWaitingGet) {
  WorkQueue<std::string> q;
  std::optional<std::string> got = "unset";
  std::thread t([&] { got = q.Get(); });
  q.ShutDown();
  t.join();
  EXPECT_FALSE(got.has_value());
}

TEST(WorkQueueTest, SeveralWorkersNeverHoldOneKeyAtOnce) {
  WorkQueue<std::string> q;
  std::mutex mu;
  std::map<std::string, int> holding;
  int max_held = 0;
  int processed = 0;
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      while (auto key = q.Get()) {
        {
          std::lock_guard lock(mu);
          max_held = std::max(max_held, ++holding[*key]);
          ++processed;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        {
          std::lock_guard lock(mu);
          --holding[*key];
        }
        q.Done(*key);
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    for (const char* key : {"a", "b", "c"}) q.Add(key);
  }
  ASSERT_TRUE([&] {
    for (int i = 0; i < 2000; ++i) {
      if (q.Len() == 0) {
        std::lock_guard lock(mu);
        if (holding["a"] + holding["b"] + holding["c"] == 0) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }());
  q.ShutDown();
  for (auto& w : workers) w.join();
  EXPECT_EQ(max_held, 1) << "a key was processed by two workers at once";
  EXPECT_GE(processed, 3);
}

}  // namespace
}  // namespace kubesync::controller
