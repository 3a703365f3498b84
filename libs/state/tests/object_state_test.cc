// Integration tests against a real redis-server (started per test).
#include "kubesync/state/object_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/state/redis_client.h"
#include "kubesync/state/testing/redis_server.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::state {
namespace {

using std::chrono::milliseconds;

constexpr char kId[] = "kubesync.dr";
constexpr char kKey[] = "apps/deployments/default/web";

class ObjectStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    RedisOptions o;
    o.url = server_->url(3);
    o.pool_size = 8;
    o.command_timeout = milliseconds(2000);
    auto client = RedisClient::Connect(o);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    redis_ = std::move(*client);
    store_ = std::make_unique<ObjectStateStore>(redis_.get());
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<ObjectStateStore> store_;
};

TEST_F(ObjectStateTest, ConnectToNothingIsUnavailable) {
  RedisOptions o;
  o.url = "redis://127.0.0.1:" + std::to_string(testsupport::FreePort()) + "/0";
  auto client = RedisClient::Connect(o);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kUnavailable);
  EXPECT_NE(client.status().message().find("Connection refused"), std::string::npos)
      << client.status().message();
}

TEST_F(ObjectStateTest, NewerAppliesOlderRefusedSameHashUnchanged) {
  EXPECT_EQ(*store_->ShouldApply(kId, kKey, 10, "h1"), CasResult::kNewer);
  EXPECT_EQ(*store_->Commit(kId, kKey, 10, "uid-1", "h1"), CasResult::kNewer);
  // Replays and older versions are refused.
  EXPECT_EQ(*store_->ShouldApply(kId, kKey, 10, "h1"), CasResult::kStale);
  EXPECT_EQ(*store_->Commit(kId, kKey, 9, "uid-1", "h0"), CasResult::kStale);
  // Newer but identical content: no write, yet the record moves forward.
  EXPECT_EQ(*store_->ShouldApply(kId, kKey, 12, "h1"), CasResult::kUnchanged);
  EXPECT_EQ(*store_->Commit(kId, kKey, 12, "uid-1", "h1"), CasResult::kUnchanged);
  EXPECT_EQ(*store_->ShouldApply(kId, kKey, 11, "h2"), CasResult::kStale);
  EXPECT_EQ(*store_->AdvanceIfNewer(kId, kKey, 13, "uid-1", "h2"), CasResult::kNewer);

  auto rec = store_->Get(kId, kKey);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->object_key, kKey);
  EXPECT_EQ((*rec)->rv, 13u);
  EXPECT_EQ((*rec)->uid, "uid-1");
  EXPECT_EQ((*rec)->hash, "h2");
  EXPECT_FALSE((*rec)->deleted);
  EXPECT_GT((*rec)->updated_at_unix_ms, 0);
  EXPECT_FALSE(store_->Get(kId, "apps/deployments/default/other")->has_value());
}

TEST_F(ObjectStateTest, CheckTellsWhetherALiveCopyIsRecorded) {
  auto none = store_->Check(kId, kKey, 10, "h1");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->cas, CasResult::kNewer);
  EXPECT_FALSE(none->live_copy);

  ASSERT_EQ(*store_->CommitCounted(kId, kKey, 10, "uid-1", "h1", /*deleted=*/false, 1), CasResult::kNewer);
  auto live = store_->Check(kId, kKey, 11, "h2");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->cas, CasResult::kNewer);
  EXPECT_TRUE(live->live_copy);
  EXPECT_EQ(store_->Check(kId, kKey, 11, "h1")->cas, CasResult::kUnchanged);
  EXPECT_EQ(store_->Check(kId, kKey, 10, "h2")->cas, CasResult::kStale);

  // A tombstone is no live copy; an older event than the tombstone stays stale.
  ASSERT_EQ(*store_->CommitCounted(kId, kKey, 12, "", "", /*deleted=*/true, 1), CasResult::kNewer);
  auto tomb = store_->Check(kId, kKey, 13, "h3");
  ASSERT_TRUE(tomb.ok());
  EXPECT_EQ(tomb->cas, CasResult::kNewer);
  EXPECT_FALSE(tomb->live_copy);
  EXPECT_EQ(store_->Check(kId, kKey, 11, "h3")->cas, CasResult::kStale);
  // A stale commit is refused and not counted as an error.
  EXPECT_EQ(*store_->CommitCounted(kId, kKey, 9, "uid-1", "h0", false, 0), CasResult::kStale);

  auto rec = store_->Get(kId, kKey);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->rv, 12u);
  EXPECT_TRUE((*rec)->deleted);
  auto stats = store_->GetStats(kId);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->objects_synchronized, 2);
  EXPECT_GT(stats->last_sync_unix_ms, 0);
  // Keys are checked before anything is sent.
  auto bad = store_->CommitCounted(kId, "no-slashes", 1, "u", "h", false, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_F(ObjectStateTest, ResourceVersionsCompareExactlyBeyondDoublePrecision) {
  // 2^53+1 and 2^53 are the same double; as uint64 they differ.
  const uint64_t big = (1ULL << 53) + 1;
  ASSERT_EQ(*store_->Commit(kId, kKey, big, "u", "h1"), CasResult::kNewer);
  EXPECT_EQ(*store_->Commit(kId, kKey, big - 1, "u", "h2"), CasResult::kStale);
  EXPECT_EQ(*store_->Commit(kId, kKey, big + 1, "u", "h2"), CasResult::kNewer);
  EXPECT_EQ(*store_->Commit(kId, kKey, 18446744073709551615ULL, "u", "h3"), CasResult::kNewer);
  EXPECT_EQ((*store_->Get(kId, kKey))->rv, 18446744073709551615ULL);
  // A shorter decimal is smaller even when it sorts after as text ("9" > "10").
  const char* other = "/configmaps/ns/cm";
  ASSERT_EQ(*store_->Commit(kId, other, 10, "u", "h"), CasResult::kNewer);
  EXPECT_EQ(*store_->Commit(kId, other, 9, "u", "h9"), CasResult::kStale);
}

TEST_F(ObjectStateTest, TombstoneRefusesOlderAndAllowsRecreation) {
  ASSERT_EQ(*store_->Commit(kId, kKey, 20, "uid-1", "h1"), CasResult::kNewer);
  EXPECT_EQ(*store_->RecordDeleted(kId, kKey, 19), CasResult::kStale);
  EXPECT_EQ(*store_->RecordDeleted(kId, kKey, 25), CasResult::kNewer);
  EXPECT_EQ(*store_->RecordDeleted(kId, kKey, 26), CasResult::kUnchanged);
  // A late MODIFIED from before the delete must not resurrect the object.
  EXPECT_EQ(*store_->ShouldApply(kId, kKey, 24, "h1"), CasResult::kStale);
  EXPECT_EQ(*store_->Commit(kId, kKey, 22, "uid-1", "h1"), CasResult::kStale);
  auto rec = store_->Get(kId, kKey);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_TRUE((*rec)->deleted);
  EXPECT_EQ((*rec)->rv, 26u);
  EXPECT_EQ((*rec)->hash, "");
  // Re-created with the same content: newer, because the record is a tombstone.
  EXPECT_EQ(*store_->ShouldApply(kId, kKey, 30, "h1"), CasResult::kNewer);
  EXPECT_EQ(*store_->Commit(kId, kKey, 30, "uid-2", "h1"), CasResult::kNewer);
  rec = store_->Get(kId, kKey);
  EXPECT_FALSE((*rec)->deleted);
  EXPECT_EQ((*rec)->uid, "uid-2");
}

TEST_F(ObjectStateTest, ConcurrentCommitsFromEightThreadsEndAtTheMaximum) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::atomic<int> newer{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Interleaved versions: thread t owns rv = i*kThreads + t + 1.
        const uint64_t rv = static_cast<uint64_t>(i * kThreads + t + 1);
        auto r = store_->Commit(kId, kKey, rv, "uid", "h" + std::to_string(rv));
        if (!r.ok()) {
          ++errors;
        } else if (*r == CasResult::kNewer) {
          ++newer;
        }
        auto rec = store_->Get(kId, kKey);
        // Monotonic: nobody ever sees the record below what this thread just offered
        // unless a newer one won.
        if (!rec.ok() || !rec->has_value() || (*rec)->rv < rv) {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GE(newer.load(), 1);
  auto rec = store_->Get(kId, kKey);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->rv, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ((*rec)->hash, "h" + std::to_string(kThreads * kPerThread));
}

TEST_F(ObjectStateTest, ScanVisitsOnlyThisSynchronizationAndDeleteAllClears) {
  for (int i = 0; i < 1200; ++i) {
    ASSERT_TRUE(store_->Commit(kId, "/configmaps/ns/cm-" + std::to_string(i), 5, "u", "h").ok());
  }
  ASSERT_TRUE(store_->Commit("other.sync", "/configmaps/ns/cm-0", 5, "u", "h").ok());
  ASSERT_TRUE(store_->RecordSynced(kId, 1200).ok());
  std::set<std::string> seen;
  ASSERT_TRUE(store_
                  ->Scan(
                      kId,
                      [&](const ObjectRecord& r) {
                        EXPECT_EQ(r.rv, 5u);
                        seen.insert(r.object_key);
                        return true;
                      },
                      100)
                  .ok());
  EXPECT_EQ(seen.size(), 1200u);
  EXPECT_EQ(seen.count("/configmaps/ns/cm-0"), 1u);
  int visited = 0;
  ASSERT_TRUE(store_->Scan(kId, [&](const ObjectRecord&) { return ++visited < 3; }).ok());
  EXPECT_EQ(visited, 3);

  auto removed = store_->DeleteAll(kId);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1200);
  int left = 0;
  ASSERT_TRUE(store_->Scan(kId, [&](const ObjectRecord&) { return ++left > 0; }).ok());
  EXPECT_EQ(left, 0);
  EXPECT_EQ(store_->GetStats(kId)->objects_synchronized, 0);
  EXPECT_TRUE(store_->Get("other.sync", "/configmaps/ns/cm-0")->has_value());
}

TEST_F(ObjectStateTest, StatsCountAndTimestamp) {
  kubesync::testing::FakeClock clock;
  ObjectStateStore store(redis_.get(), &clock);
  EXPECT_EQ(store.GetStats(kId)->last_sync_unix_ms, 0);
  ASSERT_TRUE(store.RecordSynced(kId, 3).ok());
  ASSERT_TRUE(store.RecordSynced(kId, 4).ok());
  auto stats = store.GetStats(kId);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->objects_synchronized, 7);
  EXPECT_EQ(stats->last_sync_unix_ms,
            std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count());
}

TEST_F(ObjectStateTest, ReconnectsAfterRedisRestartAndReloadsTheScript) {
  ASSERT_EQ(*store_->Commit(kId, kKey, 1, "u", "h"), CasResult::kNewer);
  server_->Stop();
  auto down = store_->Commit(kId, kKey, 2, "u", "h2");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();
  ASSERT_TRUE(server_->StartAgain().ok());
  // The pooled connections are stale and the server forgot the script (NOSCRIPT): the
  // next calls reconnect and fall back to EVAL without the caller doing anything.
  auto up = store_->Commit(kId, kKey, 2, "u", "h2");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(*up, CasResult::kNewer);  // the restarted server has no data (--save '')
  EXPECT_TRUE(redis_->Ping().ok());
}

TEST_F(ObjectStateTest, ErrorRepliesAreInternalWithTheRedisText) {
  auto r = redis_->Command({"NOSUCHCOMMAND"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_EQ(r.status().message().rfind("redis: ERR unknown command", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace kubesync::state
