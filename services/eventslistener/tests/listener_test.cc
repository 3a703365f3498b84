// EventsListener against kube's FakeApiServer and a recording publisher: what it publishes
// for adds, updates, deletes, resyncs, dropped watches and 410s, and what it never publishes.
#include "src/listener.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kubesync/bus/jetstream.h"
#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/kube/testing/fake_transport.h"
#include "kubesync/plan/parse.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::eventslistener {
namespace {

using nlohmann::json;
using testsupport::WaitFor;
using kubesync::testing::FakeClock;

plan::Plan MustParse(const std::string& resources_yaml) {
  plan::ParseOptions options;
  options.operator_namespace = "dr-system";
  auto plan = plan::ParseLiveSynchronizationYaml(
      "apiVersion: automation.astronetes.io/v1alpha1\nkind: LiveSynchronization\n"
      "metadata: {name: live, namespace: dr}\nspec:\n"
      "  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: s\n    destinationName: d\n"
      "    replication:\n      resources:\n" +
          resources_yaml,
      options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : plan::Plan{};
}

const char* kConfigMapsOnly = R"(
        - version: v1
          resource: configmaps
          filters:
            selector: {matchLabels: {dr: "on"}}
)";

json Cm(const std::string& ns, const std::string& name, const std::string& value, json labels = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"uid", "uid-" + ns + "-" + name}, {"labels", labels}}},
          {"data", {{"v", value}}}};
}

// Records every publish; can be told to fail the next N attempts.
class Recorder {
 public:
  PublishFn Fn() {
    return [this](std::string_view subject, std::string_view data, std::string_view msg_id) -> Status {
      std::lock_guard<std::mutex> lock(mu_);
      if (fail_next_ > 0) {
        --fail_next_;
        return UnavailableError("nats: no responders");
      }
      auto event = proto::Decode(data);
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      EXPECT_EQ(subject, "kubesync.dr.live.events");
      if (!event.ok()) return event.status();
      if (!ids_.insert(std::string(msg_id)).second) return OkStatus();  // the stream's dedup
      events_.push_back(*event);
      return OkStatus();
    };
  }
  void FailNext(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = n;
  }
  std::vector<proto::Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // The last event type seen per object name.
  std::map<std::string, proto::EventType> LastTypes() const {
    std::map<std::string, proto::EventType> out;
    for (const auto& e : events()) out[e.name] = e.type;
    return out;
  }
  size_t Count(proto::EventType type) const {
    size_t n = 0;
    for (const auto& e : events()) n += e.type == type ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  int fail_next_ = 0;
  std::set<std::string> ids_;
  std::vector<proto::Event> events_;
};

class ListenerTest : public ::testing::Test {
 protected:
  ListenerTest()
      : server_(std::make_shared<kube::testing::FakeApiServer>()),
        client_(server_, ClientOptions()),
        sink_(std::make_shared<log::MemorySink>()),
        logger_({.process_id = "eventslistener", .consumer_id = "t", .level = log::Level::kDebug}, sink_) {}

  static kube::ClientOptions ClientOptions() {
    kube::ClientOptions o;
    o.qps = 0;
    o.max_retries = 0;
    return o;
  }

  std::unique_ptr<EventsListener> Make(const plan::Plan& plan, std::chrono::seconds resync = std::chrono::seconds(0)) {
    ListenerConfig config;
    config.id = "dr.live";
    config.events_subject = "kubesync.dr.live.events";
    config.resync_period = resync;
    config.page_size = 2;
    config.publish_backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(5), 2.0, 0.0};
    return std::make_unique<EventsListener>(client_, plan, config, recorder_.Fn(), logger_,
                                            json{{"name", "s"}, {"namespace", "dr"}});
  }

  std::shared_ptr<kube::testing::FakeApiServer> server_;
  kube::Client client_;
  std::shared_ptr<log::MemorySink> sink_;
  log::Logger logger_;
  Recorder recorder_;
};

TEST_F(ListenerTest, PublishesAddedModifiedDeletedWithEnvelopeFields) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  server_->Put(Cm("shop", "a", "1", {{"dr", "on"}}));
  server_->Put(Cm("shop", "unlabelled", "1"));  // the processor filters labels, not the listener
  auto listener = Make(plan);
  listener->Start();
  ASSERT_TRUE(listener->WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 2; }));

  server_->Put(Cm("shop", "a", "2", {{"dr", "on"}}));
  server_->Delete("shop", "unlabelled");
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 4; }));
  listener->Stop();

  const auto events = recorder_.events();
  EXPECT_EQ(events[0].type, proto::EventType::kAdded);
  EXPECT_EQ(events[1].type, proto::EventType::kAdded);
  const proto::Event& modified = events[2].type == proto::EventType::kModified ? events[2] : events[3];
  const proto::Event& deleted = events[2].type == proto::EventType::kDeleted ? events[2] : events[3];
  EXPECT_EQ(modified.type, proto::EventType::kModified);
  EXPECT_EQ(modified.name, "a");
  EXPECT_EQ(modified.namespace_, "shop");
  EXPECT_EQ(modified.uid, "uid-shop-a");
  EXPECT_EQ(modified.gvr, (proto::Gvr{"", "v1", "configmaps"}));
  EXPECT_EQ(modified.live_synchronization_id, "dr.live");
  EXPECT_EQ(json::parse(modified.object_json)["data"]["v"], "2");
  EXPECT_EQ(modified.resource_version, json::parse(modified.object_json)["metadata"]["resourceVersion"]);
  EXPECT_GT(modified.observed_at_unix_nanos, 0);
  EXPECT_GE(modified.published_at_unix_nanos, modified.observed_at_unix_nanos);
  EXPECT_EQ(deleted.type, proto::EventType::kDeleted);
  EXPECT_EQ(deleted.name, "unlabelled");

  // "object read from cluster" at debug, with the seeds/001 fields.
  bool saw_update_log = false;
  for (const std::string& line : sink_->Lines()) {
    json j = json::parse(line);
    if (j["msg"] != "object read from cluster") continue;
    EXPECT_EQ(j["sourceCluster"], (json{{"name", "s"}, {"namespace", "dr"}}));
    EXPECT_EQ(j["sourceObject"]["resource"], "configmaps");
    if (j["event"]["type"] == "update") {
      saw_update_log = true;
      EXPECT_EQ(j["sourceObject"]["name"], "a");
    }
  }
  EXPECT_TRUE(saw_update_log);
}

TEST_F(ListenerTest, MessageIdIsUidResourceVersionType) {
  auto event = MakeEvent(proto::EventType::kModified, {"apps", "v1", "deployments"},
                         {{"metadata", {{"namespace", "n"}, {"name", "d"}, {"uid", "u1"}, {"resourceVersion", "42"}}}},
                         "dr.live", 1);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(MessageId(*event), "u1/42/MODIFIED");
  // A lean inferred delete (key stub, no uid) falls back to the object key.
  auto stub = MakeEvent(proto::EventType::kDeleted, {"", "v1", "configmaps"}, kube::KeyStub("n/c", "7"), "dr.live", 1);
  ASSERT_TRUE(stub.ok()) << stub.status().ToString();
  EXPECT_EQ(MessageId(*stub), "n/c/7/DELETED");
  EXPECT_TRUE(stub->object_json.empty());
  // A resourceVersion that is not a decimal cannot be ordered: refused, naming the field.
  auto bad = MakeEvent(proto::EventType::kAdded, {"", "v1", "configmaps"},
                       {{"metadata", {{"name", "c"}, {"resourceVersion", "abc"}}}}, "dr.live", 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_F(ListenerTest, SkipsDefaultExclusions) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  server_->Put(Cm("kube-system", "coredns", "1", {{"dr", "on"}}));
  server_->Put(Cm("dr-system", "operator-config", "1", {{"dr", "on"}}));  // the operator's namespace
  server_->Put(Cm("shop", "kube-root-ca.crt", "1", {{"dr", "on"}}));
  server_->Put(Cm("openshift-monitoring", "x", "1", {{"dr", "on"}}));
  server_->Put(Cm("shop", "kept", "1", {{"dr", "on"}}));
  auto listener = Make(plan);
  listener->Start();
  ASSERT_TRUE(listener->WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return listener->stats().excluded == 4; }));
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 1; }));
  server_->Put(Cm("kube-system", "coredns", "2", {{"dr", "on"}}));
  ASSERT_TRUE(WaitFor([&] { return listener->stats().excluded == 5; }));
  listener->Stop();
  ASSERT_EQ(recorder_.events().size(), 1u);
  EXPECT_EQ(recorder_.events()[0].name, "kept");
}

TEST_F(ListenerTest, SurvivesDroppedWatchesAndCompactionWithoutLosingChanges) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  for (int i = 0; i < 5; ++i) server_->Put(Cm("shop", "c" + std::to_string(i), "1"));
  auto listener = Make(plan);
  listener->Start();
  ASSERT_TRUE(listener->WaitForSync(std::chrono::seconds(5)));

  server_->DropWatches();
  server_->Put(Cm("shop", "c1", "2"));
  ASSERT_TRUE(WaitFor([&] { return recorder_.LastTypes()["c1"] == proto::EventType::kModified; }));

  // Changes made while no watch can resume (history compacted): the 410 makes the informer
  // re-list, and the delete in the gap is still published (inferred by the diff). Watches
  // are refused until the history is gone, so the changes cannot arrive by a watch.
  server_->FailNext("watch", 0, 1'000'000);
  server_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 0; }));
  server_->Delete("shop", "c2");
  server_->Put(Cm("shop", "c3", "3"));
  server_->Compact();
  server_->ClearFaults();
  ASSERT_TRUE(WaitFor([&] {
    auto last = recorder_.LastTypes();
    return last["c2"] == proto::EventType::kDeleted && last["c3"] == proto::EventType::kModified;
  }));
  server_->Put(Cm("shop", "after", "1"));
  ASSERT_TRUE(WaitFor([&] { return recorder_.LastTypes().count("after") == 1; }));
  EXPECT_GE(listener->informer_stats()[0].relists, 1u);
  listener->Stop();
}

TEST_F(ListenerTest, RetriesFailedPublishesUntilAcked) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  server_->Put(Cm("shop", "a", "1"));
  recorder_.FailNext(3);
  auto listener = Make(plan);
  listener->Start();
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 1; }));
  EXPECT_EQ(listener->stats().publish_errors, 3u);
  EXPECT_EQ(listener->stats().published, 1u);
  listener->Stop();
  bool warned = false;
  for (const std::string& line : sink_->Lines()) warned |= json::parse(line)["msg"] == "error publishing event";
  EXPECT_TRUE(warned);
}

TEST_F(ListenerTest, ResyncPublishesEveryObjectAgain) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  for (int i = 0; i < 5; ++i) server_->Put(Cm("shop", "c" + std::to_string(i), "1"));
  server_->Put(Cm("kube-public", "skip", "1"));
  auto listener = Make(plan);
  listener->Start();
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 5; }));
  ASSERT_TRUE(listener->ResyncOnce().ok());
  EXPECT_EQ(recorder_.Count(proto::EventType::kResync), 5u);
  EXPECT_EQ(listener->stats().resyncs, 1u);
  listener->Stop();
}

TEST_F(ListenerTest, PeriodicResyncRuns) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  server_->Put(Cm("shop", "a", "1"));
  auto listener = Make(plan, std::chrono::seconds(1));
  listener->Start();
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(proto::EventType::kResync) >= 1; }, std::chrono::seconds(5)));
  listener->Stop();
}

TEST_F(ListenerTest, ARestartedListenerListsAgainPastTheStreamsDuplicateWindow) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  server_->Put(Cm("shop", "a", "1", {{"dr", "on"}}));
  FakeClock clock;
  ListenerConfig config;
  config.id = "dr.live";
  config.events_subject = "kubesync.dr.live.events";
  config.resync_period = std::chrono::seconds(0);
  for (int run = 0; run < 2; ++run) {
    EventsListener listener(client_, plan, config, recorder_.Fn(), logger_, json{{"name", "s"}}, &clock);
    listener.Start();
    ASSERT_TRUE(WaitFor([&] { return recorder_.Count(proto::EventType::kAdded) == static_cast<size_t>(run + 1); }))
        << "run " << run << ": the unchanged object was not published again";
    listener.Stop();
    clock.Advance(std::chrono::seconds(1));
  }
  // A watch event keeps the plain id: its repeats within one run are still dropped.
  EXPECT_EQ(recorder_.events().size(), 2u);
}

TEST(WatchedResourcesTest, AddsNamespacesOnlyForNamespaceSelectors) {
  plan::Plan plain = MustParse(kConfigMapsOnly);
  EXPECT_EQ(WatchedResources(plain), (std::vector<plan::Gvr>{{"", "v1", "configmaps"}}));
  plan::Plan with_ns = MustParse(R"(
        - group: apps
          version: v1
          resource: deployments
        - version: v1
          resource: configmaps
          filters:
            namespaceSelector: {matchLabels: {dr: "on"}}
)");
  EXPECT_EQ(WatchedResources(with_ns),
            (std::vector<plan::Gvr>{{"apps", "v1", "deployments"}, {"", "v1", "configmaps"}, {"", "v1", "namespaces"}}));
}

}  // namespace
}  // namespace kubesync::eventslistener

namespace kubesync::eventslistener {
namespace {

// Issue 10, item 3: an object the bus can never take is reported and skipped; the
// resource's later changes still go out (before, the informer thread retried it forever).
TEST_F(ListenerTest, ObjectTooLargeForTheBusIsReportedAndTheRestFlows) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  server_->Put(Cm("shop", "big", "1"));
  server_->Put(Cm("shop", "a", "1"));
  PublishFn record = recorder_.Fn();
  PublishFn publish = [record](std::string_view subject, std::string_view data, std::string_view msg_id) {
    auto event = proto::Decode(data);
    if (event.ok() && event->name == "big") {
      Status refused =
          InvalidArgumentError("publish: message of 2000000 bytes exceeds the limit of 1048576 bytes");
      refused.WithHttp(0, std::string(bus::kReasonMessageTooLarge));
      return refused;
    }
    return record(subject, data, msg_id);
  };
  std::mutex mu;
  std::vector<std::string> reported;
  ListenerConfig config;
  config.id = "dr.live";
  config.events_subject = "kubesync.dr.live.events";
  config.publish_backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(5), 2.0, 0.0};
  EventsListener listener(client_, plan, config, publish, logger_, json{{"name", "s"}, {"namespace", "dr"}});
  listener.SetProblemReporter([&](const proto::Event& event, const Status& error) {
    std::lock_guard<std::mutex> lock(mu);
    reported.push_back(proto::ObjectKey(event) + " " + error.message());
    return OkStatus();
  });
  listener.Start();
  ASSERT_TRUE(listener.WaitForSync(std::chrono::seconds(5)));
  server_->Put(Cm("shop", "b", "1"));  // a change after the big one
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 2; }));
  EXPECT_EQ(recorder_.LastTypes().count("big"), 0u);
  EXPECT_EQ(listener.stats().too_large, 1u);
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(reported.size(), 1u);
    EXPECT_EQ(reported[0],
              "/configmaps/shop/big publish: message of 2000000 bytes exceeds the limit of 1048576 bytes");
  }
  listener.Stop();
  bool logged = false;
  for (const std::string& line : sink_->Lines()) {
    json j = json::parse(line);
    logged |= j["msg"] == "object too large to replicate" && j["level"] == "error" &&
              j["sourceObject"]["name"] == "big" && j["sourceObject"]["namespace"] == "shop";
  }
  EXPECT_TRUE(logged);
}

// Issue 10, item 7: when the stream was lost, every resource is listed and published again.
TEST_F(ListenerTest, LostStreamBringsAFullRelist) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  for (int i = 0; i < 3; ++i) server_->Put(Cm("shop", "c" + std::to_string(i), "1"));
  ListenerConfig config;
  config.id = "dr.live";
  config.events_subject = "kubesync.dr.live.events";
  config.stream_check_period = std::chrono::milliseconds(20);
  EventsListener listener(client_, plan, config, recorder_.Fn(), logger_,
                          json{{"name", "s"}, {"namespace", "dr"}});
  std::atomic<int> checks{0};
  std::atomic<bool> lose{false};
  listener.SetStreamCheck([&]() -> Result<bool> {
    ++checks;
    if (checks == 2) return UnavailableError("nats away");  // logged, tried again
    return lose.exchange(false);
  });
  listener.Start();
  ASSERT_TRUE(WaitFor([&] { return recorder_.events().size() == 3 && checks > 3; }));
  EXPECT_EQ(recorder_.Count(proto::EventType::kResync), 0u);
  lose = true;
  ASSERT_TRUE(WaitFor([&] { return listener.stats().relists == 1; }));
  EXPECT_EQ(recorder_.Count(proto::EventType::kResync), 3u);
  listener.Stop();
}

}  // namespace
}  // namespace kubesync::eventslistener
