// Source identity, epochs and notes against a real redis-server (issue 10 item 4).
#include "kubesync/state/source_identity.h"

#include <gtest/gtest.h>

#include <atomic>

#include "kubesync/state/object_state.h"
#include "kubesync/state/testing/redis_server.h"

namespace kubesync::state {
namespace {

constexpr char kId[] = "kubesync.dr";
constexpr char kKey[] = "/configmaps/app/a";

// A wall clock the test sets (it may go backwards, as a wall clock does).
class SettableClock final : public Clock {
 public:
  void Set(WallTime t) {
    ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  WallTime Now() const override { return WallTime(std::chrono::milliseconds(ms_.load())); }
  MonoTime SteadyNow() const override { return MonoTime(std::chrono::milliseconds(ms_.load())); }
  void SleepFor(std::chrono::nanoseconds) const override {}

 private:
  std::atomic<int64_t> ms_{0};
};

class SourceIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    RedisOptions o;
    o.url = server_->url(2);
    auto client = RedisClient::Connect(o);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    redis_ = std::move(*client);
    clock_.Set(WallTime(std::chrono::milliseconds(1'000'000)));
    identities_ = std::make_unique<SourceIdentityStore>(redis_.get(), &clock_);
    records_ = std::make_unique<ObjectStateStore>(redis_.get());
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisClient> redis_;
  SettableClock clock_;
  std::unique_ptr<SourceIdentityStore> identities_;
  std::unique_ptr<ObjectStateStore> records_;
};

TEST_F(SourceIdentityTest, FirstObservationKeepsItsEpochAndASecondClusterGetsALargerOne) {
  const SourceIdentity a{"uid-a", "https://10.0.0.1:6443"};
  auto first = identities_->Observe(kId, a);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->changed);
  EXPECT_EQ(first->epoch, 1'000'000u);
  auto again = identities_->Observe(kId, a, first->epoch);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->epoch, first->epoch);

  // Same server, rebuilt etcd: a new kube-system uid. The clock went backwards: the epoch
  // still grows.
  clock_.Set(WallTime(std::chrono::milliseconds(5)));
  const SourceIdentity b{"uid-b", a.server};
  auto changed = identities_->Observe(kId, b, first->epoch);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(changed->changed);
  EXPECT_EQ(changed->epoch, 1'000'001u);
  EXPECT_EQ(changed->previous, a);
  EXPECT_EQ(changed->previous_epoch, 1'000'000u);
  auto current = identities_->Current(kId);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->first, b);
  EXPECT_EQ(current->second, 1'000'001u);

  // Another address for the same uid is another identity too.
  clock_.Set(WallTime(std::chrono::milliseconds(2'000'000)));
  auto moved = identities_->Observe(kId, SourceIdentity{"uid-b", "https://dr.example:6443"}, changed->epoch);
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->changed);
  EXPECT_EQ(moved->epoch, 2'000'000u);
}

TEST_F(SourceIdentityTest, AfterRedisLostItsDataARunningComponentKeepsItsEpoch) {
  const SourceIdentity a{"uid-a", "https://10.0.0.1:6443"};
  auto first = identities_->Observe(kId, a);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(redis_->Command({"FLUSHALL"}).ok());
  clock_.Set(WallTime(std::chrono::milliseconds(9'000'000)));
  auto again = identities_->Observe(kId, a, first->epoch);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->epoch, first->epoch);
}

TEST_F(SourceIdentityTest, IdentityNeedsUidAndServer) {
  auto bad = identities_->Observe(kId, SourceIdentity{"", "https://x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "state: a source identity needs the kube-system uid and the server address");
  auto bad_id = identities_->Observe("a:b", SourceIdentity{"u", "s"});
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.status().code(), Code::kInvalidArgument);
}

TEST_F(SourceIdentityTest, RecordsOfAnotherEpochAreNeverComparedByResourceVersion) {
  // Epoch 100 replicated the object up to rv 5000.
  ASSERT_EQ(*records_->Commit(kId, kKey, 5000, "uid-1", "h1", 100), CasResult::kNewer);
  EXPECT_EQ(*records_->ShouldApply(kId, kKey, 4000, "h2", 100), CasResult::kStale);
  // The source was rebuilt (epoch 200): rv 12 is not older than rv 5000 of another etcd.
  auto check = records_->Check(kId, kKey, 12, "h1", 200);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->cas, CasResult::kNewer);  // same content, but the marking must move
  EXPECT_TRUE(check->live_copy);             // the destination holds the old copy
  EXPECT_EQ(*records_->Commit(kId, kKey, 12, "uid-2", "h1", 200), CasResult::kNewer);
  auto record = records_->Get(kId, kKey);
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->rv, 12u);
  EXPECT_EQ((*record)->uid, "uid-2");
  EXPECT_EQ((*record)->source_epoch, 200u);
  // From now on epoch 200 orders by rv again...
  EXPECT_EQ(*records_->ShouldApply(kId, kKey, 11, "h3", 200), CasResult::kStale);
  EXPECT_EQ(*records_->ShouldApply(kId, kKey, 13, "h3", 200), CasResult::kNewer);
  // ...and an event of the old source still in flight is stale, whatever its rv.
  EXPECT_EQ(*records_->ShouldApply(kId, kKey, 9000, "h4", 100), CasResult::kStale);
  EXPECT_EQ(*records_->Commit(kId, kKey, 9000, "uid-1", "h4", 100), CasResult::kStale);
  // An event without an epoch (an older component) compares as before.
  EXPECT_EQ(*records_->ShouldApply(kId, kKey, 11, "h3"), CasResult::kStale);
  // A delete from the new source removes an old-epoch copy.
  const std::string other = "/configmaps/app/b";
  ASSERT_EQ(*records_->Commit(kId, other, 7000, "uid-9", "h9", 100), CasResult::kNewer);
  EXPECT_EQ(*records_->ShouldApply(kId, other, 20, "", 200), CasResult::kNewer);
  EXPECT_EQ(*records_->RecordDeleted(kId, other, 20, 200), CasResult::kNewer);
  auto tomb = records_->Get(kId, other);
  ASSERT_TRUE(tomb.ok() && tomb->has_value());
  EXPECT_TRUE((*tomb)->deleted);
  EXPECT_EQ((*tomb)->source_epoch, 200u);
}

TEST_F(SourceIdentityTest, NotesAreKeptInOrderUntilAcknowledged) {
  for (int i = 1; i <= 3; ++i) {
    Note note;
    note.reason = std::string(kSourceClusterChangedReason);
    note.message = "note " + std::to_string(i) + " with \"quotes\"";
    note.component = "eventslistener";
    auto seq = identities_->AddNote(kId, note);
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    EXPECT_EQ(*seq, i);
  }
  auto notes = identities_->Notes(kId);
  ASSERT_TRUE(notes.ok()) << notes.status().ToString();
  ASSERT_EQ(notes->size(), 3u);
  EXPECT_EQ((*notes)[0].seq, 1);
  EXPECT_EQ((*notes)[0].type, "Warning");
  EXPECT_EQ((*notes)[0].reason, "SourceClusterChanged");
  EXPECT_EQ((*notes)[2].message, "note 3 with \"quotes\"");
  EXPECT_EQ((*notes)[2].component, "eventslistener");
  EXPECT_EQ((*notes)[2].at_unix_ms, 1'000'000);
  ASSERT_TRUE(identities_->AckNotes(kId, 2).ok());
  notes = identities_->Notes(kId);
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ((*notes)[0].seq, 3);
}

TEST_F(SourceIdentityTest, NotesAreBounded) {
  for (int i = 0; i < kMaxNotes + 5; ++i) {
    ASSERT_TRUE(identities_->AddNote(kId, Note{.reason = "R", .message = std::to_string(i)}).ok());
  }
  auto notes = identities_->Notes(kId);
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), static_cast<size_t>(kMaxNotes));
  EXPECT_EQ(notes->front().seq, 6);
}

}  // namespace
}  // namespace kubesync::state
