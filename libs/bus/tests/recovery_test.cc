// Message size limits (issue 10, item 3) and lost NATS state (item 7), against a real
// nats-server with JetStream.
#include "kubesync/bus/recovery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/bus/testing/nats_server.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::bus {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<Connection> MustConnect(const testing::NatsServer& server) {
  ConnectionOptions o;
  o.url = server.url();
  o.name = "bus-recovery-test";
  o.request_timeout = milliseconds(3000);
  o.reconnect_backoff = BackoffPolicy{milliseconds(50), milliseconds(500), 2.0, 0.2};
  auto conn = Connection::Connect(o);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(*conn) : nullptr;
}

std::vector<Message> FetchN(RecoveringConsumer& c, size_t want,
                            milliseconds deadline = milliseconds(15'000)) {
  std::vector<Message> got;
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (got.size() < want && std::chrono::steady_clock::now() < end) {
    auto batch = c.Fetch(static_cast<int>(want - got.size()), milliseconds(300));
    if (!batch.ok()) continue;  // e.g. while the consumer is created again
    for (auto& m : *batch) got.push_back(std::move(m));
  }
  return got;
}

TEST(MessageSizeTest, ObjectsUpToTheKubernetesLimitFitTheDefaults) {
  auto server = testing::NatsServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto conn = MustConnect(**server);
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->MaxPayload(), kMaxMessageBytes);
  StreamOptions so;
  so.id = "ns.big";
  ASSERT_TRUE(conn->EnsureStream(so).ok());
  // 1.5 MiB of binaryData is 2 MiB of base64 in the object's JSON.
  const std::string two_mib(2 << 20, 'x');
  auto ack = conn->Publish(*EventsSubject("ns.big"), two_mib, "big-1");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  auto async = conn->NewAsyncPublisher();
  ASSERT_TRUE(async.ok());
  ASSERT_TRUE((*async)->Publish(*EventsSubject("ns.big"), two_mib, "big-2").ok());
  EXPECT_TRUE((*async)->Flush(milliseconds(5000)).ok());
}

TEST(MessageSizeTest, OverTheServersMaxPayloadIsRefusedBeforeSending) {
  auto server = testing::NatsServer::Start({.max_payload = 64 << 10});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto conn = MustConnect(**server);
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->MaxPayload(), 64 << 10);
  StreamOptions so;
  so.id = "ns.small";  // the stream's own limit (8 MiB) is above the server's
  auto ensured = conn->EnsureStream(so);
  ASSERT_TRUE(ensured.ok()) << ensured.status().ToString();
  const std::string subject = *EventsSubject("ns.small");
  const std::string big(100 << 10, 'x');
  auto refused = conn->Publish(subject, big, "id-1");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsMessageTooLarge(refused.status())) << refused.status().ToString();
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "publish to " + subject + ": message of " + std::to_string(100 * 1024 + 10 + 13 + 4 + 4) +
                " bytes exceeds the limit of 65536 bytes (the server's max_payload)");
  auto async = conn->NewAsyncPublisher();
  ASSERT_TRUE(async.ok());
  Status queued = (*async)->Publish(subject, big, "id-2");
  EXPECT_TRUE(IsMessageTooLarge(queued)) << queued.ToString();
  // The connection is fine afterwards.
  EXPECT_TRUE(conn->Publish(subject, "small", "id-3").ok());
  EXPECT_FALSE(IsMessageTooLarge(UnavailableError("x")));
}

TEST(MessageSizeTest, OverTheStreamsMaxMessageSizeIsTooLarge) {
  auto server = testing::NatsServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto conn = MustConnect(**server);
  StreamOptions so;
  so.id = "ns.capped";
  so.max_msg_size = 1000;
  ASSERT_TRUE(conn->EnsureStream(so).ok());
  auto refused = conn->Publish(*EventsSubject("ns.capped"), std::string(2000, 'y'), "");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsMessageTooLarge(refused.status())) << refused.status().ToString();
}

class LostStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    conn_ = MustConnect(*server_);
    ASSERT_NE(conn_, nullptr);
    stream_.id = "ns.lost";
    name_ = *StreamName("ns.lost");
    subject_ = *EventsSubject("ns.lost");
  }
  ConsumerOptions Consumer() const {
    ConsumerOptions c;
    c.stream = name_;
    c.durable = "worker";
    c.filter_subject = subject_;
    c.ack_wait = milliseconds(5000);
    return c;
  }

  std::unique_ptr<testing::NatsServer> server_;
  std::unique_ptr<Connection> conn_;
  StreamOptions stream_;
  std::string name_;
  std::string subject_;
};

TEST_F(LostStateTest, ConsumerComesBackAfterItsStreamIsDeleted) {
  RecoveringConsumer consumer(conn_.get(), stream_, Consumer(), milliseconds(500));
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  ASSERT_TRUE(conn_->Publish(subject_, "before", "").ok());
  auto first = FetchN(consumer, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].data(), "before");
  ASSERT_TRUE(first[0].AckSync().ok());

  ASSERT_TRUE(conn_->DeleteStream(name_).ok());
  // The consumer notices (within verify_every) and creates the stream and itself again,
  // so what is published next reaches it.
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        (void)consumer.Fetch(1, milliseconds(100));
        return consumer.recreated() == 1;
      },
      milliseconds(15'000)));
  ASSERT_TRUE(conn_->Publish(subject_, "after", "").ok());
  auto second = FetchN(consumer, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].data(), "after");
  EXPECT_TRUE(conn_->GetConsumerStats(name_, "worker").ok());
}

TEST_F(LostStateTest, ConsumerDeletedAloneIsCreatedAgainAndRedelivers) {
  RecoveringConsumer consumer(conn_.get(), stream_, Consumer(), milliseconds(500));
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  ASSERT_TRUE(conn_->Publish(subject_, "m1", "").ok());
  auto first = FetchN(consumer, 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(first[0].AckSync().ok());
  ASSERT_TRUE(conn_->DeleteConsumer(name_, "worker").ok());
  // A new consumer knows nothing of the old one's acks: it delivers what the stream holds.
  auto again = FetchN(consumer, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].data(), "m1");
  EXPECT_EQ(consumer.recreated(), 1);
}

TEST_F(LostStateTest, StreamKeeperWaitsBeforeCreatingAStreamAgain) {
  StreamKeeper keeper(conn_.get(), stream_);  // the default grace
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  EXPECT_FALSE(*keeper.Check());
  ASSERT_TRUE(conn_->DeleteStream(name_).ok());
  auto at_once = keeper.Check();
  ASSERT_FALSE(at_once.ok());
  EXPECT_EQ(at_once.status().code(), Code::kUnavailable);
  EXPECT_EQ(at_once.status().message(),
            "stream " + name_ + " is missing; it is created again once its files are gone");
  EXPECT_FALSE(conn_->GetStreamStats(name_).ok());
  Result<bool> later = false;
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        later = keeper.Check();
        return later.ok();
      },
      milliseconds(10'000)));
  EXPECT_TRUE(*later);
  ASSERT_TRUE(conn_->Publish(subject_, "after", "").ok());
}

TEST_F(LostStateTest, StreamKeeperSeesAStreamCreatedAgain) {
  StreamKeeper keeper(conn_.get(), stream_, milliseconds(0));
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  auto first = keeper.Check();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(*first);
  EXPECT_FALSE(*keeper.Check());

  // Gone: the keeper creates it and says so.
  ASSERT_TRUE(conn_->DeleteStream(name_).ok());
  auto recreated = keeper.Check();
  ASSERT_TRUE(recreated.ok()) << recreated.status().ToString();
  EXPECT_TRUE(*recreated);
  EXPECT_TRUE(conn_->GetStreamStats(name_).ok());
  EXPECT_FALSE(*keeper.Check());

  // Created again by someone else in between: also a new stream.
  ASSERT_TRUE(conn_->DeleteStream(name_).ok());
  std::this_thread::sleep_for(milliseconds(5));  // NOLINT: creation times must differ
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  EXPECT_TRUE(*keeper.Check());
}

TEST_F(LostStateTest, ServerRestartedWithoutItsStoreIsRepaired) {
  StreamKeeper keeper(conn_.get(), stream_);
  RecoveringConsumer consumer(conn_.get(), stream_, Consumer(), milliseconds(500));
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  ASSERT_TRUE(keeper.Check().ok());
  ASSERT_TRUE(conn_->Publish(subject_, "m1", "").ok());
  ASSERT_EQ(FetchN(consumer, 1).size(), 1u);

  server_->Kill();
  server_->WipeStore();
  ASSERT_TRUE(server_->StartAgain().ok());
  Result<bool> changed = false;
  ASSERT_TRUE(testsupport::WaitFor(
      [&] {
        changed = keeper.Check();
        return changed.ok();
      },
      milliseconds(15'000)))
      << changed.status().ToString();
  EXPECT_TRUE(*changed);
  ASSERT_TRUE(conn_->Publish(subject_, "m2", "").ok());
  auto got = FetchN(consumer, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data(), "m2");
}

}  // namespace
}  // namespace kubesync::bus

namespace kubesync::bus {
namespace {

// A bounded consumer still honours every Nak delay (a JetStream BackOff list would not:
// nats-server 2.9 replaces Nak delays after the first by the list's).
TEST_F(LostStateTest, BoundedConsumerHonoursNakDelays) {
  ASSERT_TRUE(conn_->EnsureStream(stream_).ok());
  ConsumerOptions options = Consumer();
  options.ack_wait = milliseconds(15'000);
  options.max_deliver = 100;
  RecoveringConsumer consumer(conn_.get(), stream_, options);
  ASSERT_TRUE(conn_->Publish(subject_, "m", "").ok());
  for (uint64_t round = 1; round <= 4; ++round) {
    auto got = FetchN(consumer, 1, milliseconds(5000));
    ASSERT_EQ(got.size(), 1u) << "round " << round;
    EXPECT_EQ(got[0].delivery_count(), round);
    ASSERT_TRUE(got[0].Nak(milliseconds(250) * round).ok());
  }
}

}  // namespace
}  // namespace kubesync::bus
