// Integration tests of the problems record against a real redis-server.
#include "kubesync/state/problems.h"

#include <gtest/gtest.h>

#include "kubesync/state/redis_client.h"
#include "kubesync/state/testing/redis_server.h"

namespace kubesync::state {
namespace {

constexpr char kId[] = "kubesync.dr";
constexpr char kKey[] = "/configmaps/app/big";

class ProblemStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    auto client = RedisClient::Connect({.url = server_->url(2)});
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    redis_ = std::move(*client);
    store_ = std::make_unique<ProblemStore>(redis_.get());
  }
  static Problem Make(uint64_t rv, std::string reason) {
    return Problem{kKey, "uid-1", rv, std::move(reason), "synchronizer", "boom", 3, 0};
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<ProblemStore> store_;
};

TEST_F(ProblemStoreTest, ReportKeepsTheNewestVersionAndResolveRemovesIt) {
  EXPECT_EQ(*store_->Count(kId), 0);
  EXPECT_FALSE(store_->Get(kId, kKey)->has_value());
  ASSERT_TRUE(store_->Report(kId, Make(10, std::string(kProblemDeliveryLimit))).ok());
  // An older version's report does not replace the newer one.
  ASSERT_TRUE(store_->Report(kId, Make(9, std::string(kProblemTooLarge))).ok());
  auto got = store_->Get(kId, kKey);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->rv, 10u);
  EXPECT_EQ((*got)->reason, kProblemDeliveryLimit);
  EXPECT_EQ((*got)->component, "synchronizer");
  EXPECT_EQ((*got)->message, "boom");
  EXPECT_EQ((*got)->deliveries, 3);
  EXPECT_GT((*got)->at_unix_ms, 0);
  ASSERT_TRUE(store_->Report(kId, Make(11, std::string(kProblemRejected))).ok());
  EXPECT_EQ((*store_->Get(kId, kKey))->reason, kProblemRejected);
  EXPECT_EQ(*store_->Count(kId), 1);

  // An older version reaching the destination does not resolve it; the same or newer does.
  EXPECT_FALSE(*store_->Resolve(kId, kKey, 10));
  EXPECT_TRUE(*store_->Resolve(kId, kKey, 11));
  EXPECT_EQ(*store_->Count(kId), 0);
  EXPECT_FALSE(*store_->Resolve(kId, kKey, 12));
}

TEST_F(ProblemStoreTest, ListsEntriesAndChecksItsInput) {
  for (int i = 0; i < 5; ++i) {
    Problem p = Make(100 + i, std::string(kProblemTooLarge));
    p.object_key = "/configmaps/app/cm-" + std::to_string(i);
    ASSERT_TRUE(store_->Report(kId, p).ok());
  }
  auto all = store_->List(kId);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 5u);
  EXPECT_EQ(store_->List(kId, 2)->size(), 2u);
  EXPECT_EQ(*ProblemStore::Key(kId), "kubesync:kubesync.dr:problems");

  Status bad_id = store_->Report("a*b", Make(1, "x"));
  EXPECT_EQ(bad_id.code(), Code::kInvalidArgument);
  Problem bad_key = Make(1, "x");
  bad_key.object_key = "no-slashes";
  EXPECT_EQ(store_->Report(kId, bad_key).code(), Code::kInvalidArgument);

  // Something else wrote the field: a clear error, not a crash.
  ASSERT_TRUE(redis_->Command({"HSET", "kubesync:kubesync.dr:problems", "/configmaps/app/x", "{nope"}).ok());
  auto broken = store_->Get(kId, "/configmaps/app/x");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), Code::kDataLoss);
  EXPECT_EQ(broken.status().message(), "state: problem entry of /configmaps/app/x is not a JSON object");
}

}  // namespace
}  // namespace kubesync::state
