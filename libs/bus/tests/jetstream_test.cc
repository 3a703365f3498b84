// Integration tests against a real nats-server with JetStream (started per test).
#include "kubesync/bus/jetstream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kubesync/bus/subjects.h"
#include "kubesync/bus/testing/nats_server.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::bus {
namespace {

using std::chrono::milliseconds;
using testsupport::WaitFor;

class JetStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    conn_ = MustConnect();
  }

  std::unique_ptr<Connection> MustConnect() {
    ConnectionOptions o;
    o.url = server_->url();
    o.name = "bus-test";
    o.request_timeout = milliseconds(3000);
    o.reconnect_backoff = BackoffPolicy{milliseconds(50), milliseconds(500), 2.0, 0.2};
    o.on_event = [this](ConnectionEvent e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(e);
    };
    auto conn = Connection::Connect(o);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  std::string MustEnsure(const std::string& id) {
    StreamOptions so;
    so.id = id;
    auto name = conn_->EnsureStream(so);
    EXPECT_TRUE(name.ok()) << name.status().ToString();
    return name.value_or("");
  }

  int CountEvents(ConnectionEvent e) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count(events_.begin(), events_.end(), e));
  }

  // Fetches until `want` messages arrived or 10 s passed.
  std::vector<Message> FetchN(PullConsumer& c, size_t want, milliseconds deadline = milliseconds(10'000)) {
    std::vector<Message> got;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (got.size() < want && std::chrono::steady_clock::now() < end) {
      auto batch = c.Fetch(static_cast<int>(want - got.size()), milliseconds(500));
      if (!batch.ok()) {
        continue;  // e.g. kUnavailable while reconnecting
      }
      for (auto& m : *batch) got.push_back(std::move(m));
    }
    return got;
  }

  // Declared first so they outlive the connections whose callbacks use them.
  std::mutex mu_;
  std::vector<ConnectionEvent> events_;
  std::unique_ptr<testing::NatsServer> server_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(JetStreamTest, ConnectToNothingIsUnavailable) {
  ConnectionOptions o;
  o.url = "nats://127.0.0.1:" + std::to_string(testsupport::FreePort());
  o.connect_timeout = milliseconds(500);
  auto conn = Connection::Connect(o);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnavailable);
  EXPECT_NE(conn.status().message().find("connect to " + o.url), std::string::npos)
      << conn.status().message();
}

TEST_F(JetStreamTest, EnsureStreamIsIdempotentAndUpdates) {
  StreamOptions so;
  so.id = "ns1.live";
  auto first = conn_->EnsureStream(so);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, "KUBESYNC_ns1_live");
  ASSERT_TRUE(conn_->EnsureStream(so).ok());
  so.max_age = std::chrono::seconds(3600);  // a limit change is applied in place
  ASSERT_TRUE(conn_->EnsureStream(so).ok());
  ASSERT_TRUE(conn_->Publish(*EventsSubject("ns1.live"), "x", "").ok());
  ASSERT_TRUE(conn_->Publish(*SyncSubject("ns1.live", 7), "y", "").ok());
  EXPECT_EQ(conn_->GetStreamStats(*first)->messages, 2u);

  so.memory_storage = true;
  auto changed = conn_->EnsureStream(so);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(changed.status().message(),
            "stream KUBESYNC_ns1_live exists with another storage type; delete it to change");

  auto missing = conn_->GetStreamStats("KUBESYNC_nope_nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(JetStreamTest, AckedMessagesSurviveRestartAndUnackedAreRedelivered) {
  const std::string stream = MustEnsure("ns.restart");
  const std::string subject = *EventsSubject("ns.restart");
  for (int i = 1; i <= 3; ++i) {
    auto ack = conn_->Publish(subject, "m" + std::to_string(i), "id-" + std::to_string(i));
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    EXPECT_EQ(ack->stream, stream);
    EXPECT_EQ(ack->sequence, static_cast<uint64_t>(i));
    EXPECT_FALSE(ack->duplicate);
  }
  ConsumerOptions co{stream, "processor", subject, milliseconds(1500), -1, 1000};
  auto consumer = conn_->Subscribe(co);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto first = FetchN(**consumer, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].data(), "m1");
  EXPECT_EQ(first[0].subject(), subject);
  EXPECT_EQ(first[0].delivery_count(), 1u);
  EXPECT_EQ(first[0].stream_sequence(), 1u);
  ASSERT_TRUE(first[0].AckSync().ok());
  // first[1] ("m2") stays unacked across the restart.

  server_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !conn_->IsConnected(); }));
  // No ack while the server is down: a retryable error. The request may still sit in the
  // client's reconnect buffer and reach the stream later, so a retry must reuse the msg-id.
  auto while_down = conn_->Publish(subject, "m4", "id-4");
  ASSERT_FALSE(while_down.ok());
  EXPECT_TRUE(while_down.status().IsRetryable()) << while_down.status().ToString();
  ASSERT_TRUE(server_->StartAgain().ok());
  ASSERT_TRUE(WaitFor([&] { return conn_->IsConnected(); }, milliseconds(15'000)));
  // cnats calls the connection callbacks from its own thread, after the status changed.
  EXPECT_TRUE(WaitFor([&] { return CountEvents(ConnectionEvent::kDisconnected) >= 1; }));
  EXPECT_TRUE(WaitFor([&] { return CountEvents(ConnectionEvent::kReconnected) >= 1; }));

  auto retried = conn_->Publish(subject, "m4", "id-4");
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(retried->sequence, 4u);

  auto stats = conn_->GetStreamStats(stream);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // m1..m3 were acked by the stream before the restart; m4 is there exactly once.
  EXPECT_EQ(stats->messages, 4u);

  // m2 comes again (after AckWait), m3 and m4 for the first time; m1 never again.
  auto again = FetchN(**consumer, 3);
  ASSERT_EQ(again.size(), 3u);
  std::map<std::string, uint64_t> deliveries;
  for (auto& m : again) {
    deliveries[std::string(m.data())] = m.delivery_count();
    ASSERT_TRUE(m.AckSync().ok());
  }
  ASSERT_EQ(deliveries.count("m2"), 1u);
  ASSERT_EQ(deliveries.count("m3"), 1u);
  EXPECT_EQ(deliveries["m2"], 2u);
  EXPECT_EQ(deliveries["m3"], 1u);
  EXPECT_EQ(deliveries["m4"], 1u);
  EXPECT_TRUE((*consumer)->Fetch(5, milliseconds(300))->empty());
  auto cs = conn_->GetConsumerStats(stream, "processor");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->num_pending, 0u);
  EXPECT_EQ(cs->num_ack_pending, 0);
  EXPECT_EQ(cs->ack_floor_stream_sequence, 4u);
}

TEST_F(JetStreamTest, UnackedMessageIsRedeliveredAfterAckWait) {
  const std::string stream = MustEnsure("ns.ackwait");
  const std::string subject = *EventsSubject("ns.ackwait");
  ASSERT_TRUE(conn_->Publish(subject, "payload", "").ok());
  auto consumer = conn_->Subscribe({stream, "d", subject, milliseconds(500), -1, 1000});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto first = FetchN(**consumer, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].delivery_count(), 1u);
  auto second = FetchN(**consumer, 1, milliseconds(5000));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].stream_sequence(), first[0].stream_sequence());
  EXPECT_EQ(second[0].delivery_count(), 2u);
  auto stats = (*consumer)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->num_redelivered, 1);
  EXPECT_EQ(stats->num_ack_pending, 1);
}

TEST_F(JetStreamTest, NakRedeliversAndTermStops) {
  const std::string stream = MustEnsure("ns.nak");
  const std::string subject = *EventsSubject("ns.nak");
  ASSERT_TRUE(conn_->Publish(subject, "p", "").ok());
  // AckWait is long: any redelivery below comes from Nak, not from the timer.
  auto consumer = conn_->Subscribe({stream, "d", subject, milliseconds(60'000), -1, 1000});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto m1 = FetchN(**consumer, 1);
  ASSERT_EQ(m1.size(), 1u);
  ASSERT_TRUE(m1[0].Nak().ok());
  auto m2 = FetchN(**consumer, 1, milliseconds(3000));
  ASSERT_EQ(m2.size(), 1u);
  EXPECT_EQ(m2[0].delivery_count(), 2u);
  ASSERT_TRUE(m2[0].InProgress().ok());
  ASSERT_TRUE(m2[0].Nak(milliseconds(200)).ok());
  auto m3 = FetchN(**consumer, 1, milliseconds(3000));
  ASSERT_EQ(m3.size(), 1u);
  EXPECT_EQ(m3[0].delivery_count(), 3u);
  ASSERT_TRUE(m3[0].Term().ok());
  EXPECT_TRUE((*consumer)->Fetch(1, milliseconds(500))->empty());
}

TEST_F(JetStreamTest, MaxDeliverStopsRedelivery) {
  const std::string stream = MustEnsure("ns.maxdeliver");
  const std::string subject = *EventsSubject("ns.maxdeliver");
  ASSERT_TRUE(conn_->Publish(subject, "p", "").ok());
  auto consumer = conn_->Subscribe({stream, "d", subject, milliseconds(60'000), 2, 1000});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  for (uint64_t attempt = 1; attempt <= 2; ++attempt) {
    auto m = FetchN(**consumer, 1, milliseconds(3000));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].delivery_count(), attempt);
    ASSERT_TRUE(m[0].Nak().ok());
  }
  EXPECT_TRUE((*consumer)->Fetch(1, milliseconds(500))->empty());
}

TEST_F(JetStreamTest, TwoReplicasOnOneDurableShareWorkWithoutDuplicates) {
  const std::string stream = MustEnsure("ns.share");
  const std::string subject = *EventsSubject("ns.share");
  constexpr int kCount = 200;
  auto pub = conn_->NewAsyncPublisher(64);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE((*pub)->Publish(subject, std::to_string(i), "share-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE((*pub)->Flush(milliseconds(10'000)).ok());

  auto other_conn = MustConnect();
  ASSERT_NE(other_conn, nullptr);
  const ConsumerOptions co{stream, "synchronizer", subject, milliseconds(30'000), -1, 1000};
  auto a = conn_->Subscribe(co);
  auto b = other_conn->Subscribe(co);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  std::mutex mu;
  std::multiset<uint64_t> seen;
  std::atomic<int> total{0};
  auto worker = [&](PullConsumer* c, int* mine) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (total.load() < kCount && std::chrono::steady_clock::now() < end) {
      auto batch = c->Fetch(5, milliseconds(200));
      if (!batch.ok()) continue;
      for (auto& m : *batch) {
        {
          std::lock_guard<std::mutex> lock(mu);
          seen.insert(m.stream_sequence());
        }
        ++*mine;
        ++total;
        EXPECT_TRUE(m.Ack().ok());
      }
    }
  };
  int got_a = 0;
  int got_b = 0;
  std::thread ta(worker, a->get(), &got_a);
  std::thread tb(worker, b->get(), &got_b);
  ta.join();
  tb.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), static_cast<size_t>(kCount)) << "duplicates";
  EXPECT_GT(got_a, 0);
  EXPECT_GT(got_b, 0);
  EXPECT_EQ(got_a + got_b, kCount);
}

TEST_F(JetStreamTest, MsgIdDeduplicates) {
  const std::string stream = MustEnsure("ns.dedup");
  const std::string subject = *EventsSubject("ns.dedup");
  auto a = conn_->Publish(subject, "v1", "uid-1:rv-10");
  auto b = conn_->Publish(subject, "v1", "uid-1:rv-10");
  auto c = conn_->Publish(subject, "v2", "uid-1:rv-11");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_FALSE(a->duplicate);
  EXPECT_TRUE(b->duplicate);
  EXPECT_EQ(b->sequence, a->sequence);
  EXPECT_FALSE(c->duplicate);
  EXPECT_EQ(conn_->GetStreamStats(stream)->messages, 2u);
}

TEST_F(JetStreamTest, PartitionSubjectsIsolateConsumers) {
  const std::string stream = MustEnsure("ns.parts");
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(conn_->Publish(*SyncSubject("ns.parts", p), "p" + std::to_string(p), "").ok());
    }
  }
  for (int p = 0; p < 2; ++p) {
    const std::string subject = *SyncSubject("ns.parts", p);
    auto c = conn_->Subscribe({stream, "sync-" + std::to_string(p), subject, milliseconds(30'000), -1, 1000});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto msgs = FetchN(**c, 3);
    ASSERT_EQ(msgs.size(), 3u);
    for (auto& m : msgs) {
      EXPECT_EQ(m.subject(), subject);
      EXPECT_EQ(m.data(), "p" + std::to_string(p));
      ASSERT_TRUE(m.Ack().ok());
    }
    EXPECT_TRUE((*c)->Fetch(3, milliseconds(300))->empty());
  }
  // A consumer asked for another filter than the existing durable has is refused.
  auto wrong =
      conn_->Subscribe({stream, "sync-0", *SyncSubject("ns.parts", 1), milliseconds(30'000), -1, 1000});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kFailedPrecondition);
}

TEST_F(JetStreamTest, AsyncPublishReportsFailures) {
  MustEnsure("ns.async");
  auto pub = conn_->NewAsyncPublisher(16);
  ASSERT_TRUE(pub.ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*pub)->Publish(*EventsSubject("ns.async"), "x", "a-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE((*pub)->Flush(milliseconds(10'000)).ok());
  EXPECT_EQ(conn_->GetStreamStats("KUBESYNC_ns_async")->messages, 100u);

  // No stream captures this subject: the server answers "no responders".
  ASSERT_TRUE((*pub)->Publish("kubesync.nowhere.x.events", "lost", "lost-1").ok());
  std::vector<PublishFailure> failures;
  Status flushed = (*pub)->Flush(milliseconds(5000), &failures);
  ASSERT_FALSE(flushed.ok());
  ASSERT_EQ(failures.size(), 1u) << flushed.ToString();
  EXPECT_EQ(failures[0].subject, "kubesync.nowhere.x.events");
  EXPECT_EQ(failures[0].msg_id, "lost-1");
  EXPECT_EQ(failures[0].data, "lost");
  EXPECT_NE(flushed.message().find("1 async publishes failed"), std::string::npos) << flushed.ToString();
}

}  // namespace
}  // namespace kubesync::bus
