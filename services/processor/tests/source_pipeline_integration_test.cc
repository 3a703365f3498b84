// The two source-side binaries end to end: eventslistener and processor, as processes,
// against the kube-emulator (source), a real nats-server with JetStream and a real
// redis-server. The test reads what reaches the sync subjects.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/bus/testing/nats_server.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/state/testing/redis_server.h"
#include "kubesync/testsupport/emulator.h"
#include "kubesync/testsupport/process.h"
#include "kubesync/transform/mark.h"

namespace kubesync::processor {
namespace {

using nlohmann::json;
using testsupport::WaitFor;

constexpr const char* kId = "dr.live";
constexpr int kPartitions = 4;
// base64 of the Secret value that must never reach a log line.
constexpr const char* kSecretB64 = "czNjcjN0LXBhc3N3MHJk";  // "s3cr3t-passw0rd"

const char* kPlanYaml = R"(apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata: {name: live, namespace: dr}
spec:
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: source
    destinationName: destination
    replication:
      resources:
        - group: apps
          version: v1
          resource: deployments
          filters:
            selector: {matchLabels: {dr: "on"}}
          transformation:
            patch:
              - {op: replace, path: /spec/replicas, value: 0}
        - version: v1
          resource: configmaps
          filters:
            namespaceSelector: {matchLabels: {dr: "on"}}
        - version: v1
          resource: secrets
        - version: v1
          resource: pods
)";

json Deployment(const std::string& ns, const std::string& name, json labels, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "nginx"}}})}}}}}}}};
}

class SourcePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testsupport::EmulatorOptions emu_options;
    emu_options.token_users = {{"admin", "admin"}, {"pipeline", "admin"}};
    auto emulator = testsupport::Emulator::Start(emu_options);
    ASSERT_TRUE(emulator.ok()) << emulator.status().ToString();
    emulator_ = std::move(*emulator);
    auto nats = bus::testing::NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status().ToString();
    nats_ = std::move(*nats);
    auto redis = state::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    redis_ = std::move(*redis);

    plan_path_ = dir_.path() / "plan.yaml";
    testsupport::WriteFile(plan_path_, kPlanYaml);

    auto conn = bus::Connection::Connect({.url = nats_->url(), .name = "test"});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    auto stream = conn_->EnsureStream({.id = kId});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    bus::ConsumerOptions co;
    co.stream = *stream;
    co.durable = "test-sync-reader";
    co.filter_subject = *bus::SyncWildcard(kId);
    auto consumer = conn_->Subscribe(co);
    ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
    sync_reader_ = std::move(*consumer);

    Create("/api/v1/namespaces", {{"metadata", {{"name", "shop"}, {"labels", {{"dr", "on"}}}}}});
  }

  void Create(const std::string& path, const json& body) {
    auto reply = emulator_->Request("POST", path, body);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->status, 201) << path << ": " << reply->body.dump();
  }
  void Put(const std::string& path, const json& body) {
    auto reply = emulator_->Request("PUT", path, body);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->status, 200) << path << ": " << reply->body.dump();
  }
  json Get(const std::string& path) {
    auto reply = emulator_->Request("GET", path);
    EXPECT_TRUE(reply.ok());
    return reply.ok() ? reply->body : json();
  }

  testsupport::Process StartBinary(const char* bin, const std::string& name) {
    testsupport::ProcessOptions po;
    po.argv = {bin,
               "--plan", plan_path_.string(),
               "--source-kubeconfig", emulator_->kubeconfig_path("pipeline").string(),
               "--nats-url", nats_->url(),
               "--redis-url", redis_->url(),
               "--log-level", "debug",
               "--partitions", std::to_string(kPartitions)};
    po.stdout_path = dir_.path() / (name + ".log");
    po.stderr_path = dir_.path() / (name + ".err");
    auto p = testsupport::Process::Start(po);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return std::move(*p);
  }

  void StartBoth() {
    listener_ = StartBinary(EVENTSLISTENER_BIN, "eventslistener");
    processor_ = StartBinary(PROCESSOR_BIN, "processor");
  }

  // Drains the sync subjects into `seen_`, keeping subject per event.
  void Drain() {
    auto msgs = sync_reader_->Fetch(100, std::chrono::milliseconds(50));
    EXPECT_TRUE(msgs.ok()) << msgs.status().ToString();
    if (!msgs.ok()) return;
    for (auto& m : *msgs) {
      auto event = proto::Decode(m.data());
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      if (event.ok()) seen_.push_back({std::string(m.subject()), *event});
      (void)m.Ack();
    }
  }
  // The first sync message for `name` of `type` (waits up to 15 s).
  std::optional<std::pair<std::string, proto::Event>> WaitForSync(const std::string& name, proto::EventType type) {
    std::optional<std::pair<std::string, proto::Event>> found;
    WaitFor(
        [&] {
          Drain();
          for (const auto& [subject, e] : seen_) {
            if (e.name == name && e.type == type) {
              found = {subject, e};
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(15), std::chrono::milliseconds(20));
    return found;
  }
  int CountFor(const std::string& name) {
    Drain();
    int n = 0;
    for (const auto& [subject, e] : seen_) n += e.name == name ? 1 : 0;
    return n;
  }
  std::string Logs() {
    auto ss = conn_->GetStreamStats(*bus::StreamName(kId));
    auto ps = conn_->GetConsumerStats(*bus::StreamName(kId), "processor");
    auto ts = conn_->GetConsumerStats(*bus::StreamName(kId), "test-sync-reader");
    std::string head = "stream msgs=" + std::to_string(ss.ok() ? ss->messages : 0) +
                       " processor pending=" + std::to_string(ps.ok() ? ps->num_pending : 0) +
                       " ackpending=" + std::to_string(ps.ok() ? ps->num_ack_pending : 0) +
                       " reader pending=" + std::to_string(ts.ok() ? ts->num_pending : 0) +
                       " delivered=" + std::to_string(ts.ok() ? ts->delivered_stream_sequence : 0) + "\n";
    return head + testsupport::ReadFile(dir_.path() / "eventslistener.log") +
           testsupport::ReadFile(dir_.path() / "processor.log");
  }

  testsupport::TempDir dir_;
  std::filesystem::path plan_path_;
  std::unique_ptr<testsupport::Emulator> emulator_;
  std::unique_ptr<bus::testing::NatsServer> nats_;
  std::unique_ptr<state::testing::RedisServer> redis_;
  std::unique_ptr<bus::Connection> conn_;
  std::unique_ptr<bus::PullConsumer> sync_reader_;
  std::optional<testsupport::Process> listener_;
  std::optional<testsupport::Process> processor_;
  std::vector<std::pair<std::string, proto::Event>> seen_;
};

TEST_F(SourcePipelineTest, TransformsRoutesFiltersAndNeverWritesTheSource) {
  Create("/apis/apps/v1/namespaces/shop/deployments", Deployment("shop", "web", {{"dr", "on"}}, 3));
  Create("/apis/apps/v1/namespaces/shop/deployments", Deployment("shop", "unselected", {{"dr", "off"}}, 2));
  Create("/apis/apps/v1/namespaces/kube-system/deployments", Deployment("kube-system", "coredns", {{"dr", "on"}}, 2));
  Create("/api/v1/namespaces/shop/secrets",
         {{"metadata", {{"name", "creds"}}}, {"type", "Opaque"}, {"data", {{"password", kSecretB64}}}});
  Create("/api/v1/namespaces/shop/secrets",
         {{"metadata", {{"name", "sa-token"}, {"annotations", {{"kubernetes.io/service-account.name", "default"}}}}},
          {"type", "kubernetes.io/service-account-token"},
          {"data", {{"token", kSecretB64}}}});
  Create("/api/v1/namespaces/shop/pods",
         {{"metadata",
           {{"name", "web-abc"},
            {"ownerReferences",
             json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "web-5d8f"},
                           {"uid", "0b7a3c2e-0000-4000-8000-000000000001"}, {"controller", true}}})}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "nginx"}}})}}}});
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  StartBoth();

  // The selected Deployment: replicas 0, the original 3 recorded, marked, on its partition.
  auto web = WaitForSync("web", proto::EventType::kAdded);
  ASSERT_TRUE(web.has_value()) << Logs();
  const json obj = json::parse(web->second.object_json);
  EXPECT_EQ(obj["spec"]["replicas"], 0);
  EXPECT_EQ(obj["kind"], "Deployment");
  EXPECT_EQ(obj["apiVersion"], "apps/v1");
  const json& annotations = obj["metadata"]["annotations"];
  ASSERT_TRUE(annotations.contains("kubesync.io/original-values")) << obj.dump();
  const json originals = json::parse(annotations["kubesync.io/original-values"].get<std::string>());
  EXPECT_EQ(originals, json::parse(R"([{"path":"/spec/replicas","value":3}])"));
  EXPECT_TRUE(transform::IsManagedBy(obj, kId)) << obj["metadata"].dump();
  EXPECT_FALSE(obj["metadata"].contains("uid"));
  EXPECT_FALSE(obj.contains("status"));
  EXPECT_EQ(web->second.content_hash, annotations["kubesync.io/content-hash"]);
  const int partition = bus::Partition(proto::ObjectKey(web->second), kPartitions);
  EXPECT_EQ(web->first, *bus::SyncSubject(kId, partition));

  // The Opaque secret goes through; the service-account token and the owned pod do not.
  ASSERT_TRUE(WaitForSync("creds", proto::EventType::kAdded).has_value()) << Logs();

  // A sentinel created after everything else: once it is through, the rest was judged.
  Create("/apis/apps/v1/namespaces/shop/deployments", Deployment("shop", "sentinel", {{"dr", "on"}}, 1));
  ASSERT_TRUE(WaitForSync("sentinel", proto::EventType::kAdded).has_value()) << Logs();
  EXPECT_EQ(CountFor("unselected"), 0);
  EXPECT_EQ(CountFor("coredns"), 0);
  EXPECT_EQ(CountFor("sa-token"), 0);
  EXPECT_EQ(CountFor("web-abc"), 0);

  // Object label change takes it out of scope: DELETED.
  json live = Get("/apis/apps/v1/namespaces/shop/deployments/web");
  live["metadata"]["labels"]["dr"] = "off";
  Put("/apis/apps/v1/namespaces/shop/deployments/web", live);
  auto gone = WaitForSync("web", proto::EventType::kDeleted);
  ASSERT_TRUE(gone.has_value()) << Logs();
  EXPECT_EQ(gone->first, web->first) << "same object, same partition";

  // Namespace label change: its ConfigMaps leave scope.
  Create("/api/v1/namespaces/shop/configmaps", {{"metadata", {{"name", "settings"}}}, {"data", {{"k", "v"}}}});
  auto cm = WaitForSync("settings", proto::EventType::kAdded);
  ASSERT_TRUE(cm.has_value()) << Logs();
  json ns = Get("/api/v1/namespaces/shop");
  ns["metadata"]["labels"]["dr"] = "off";
  Put("/api/v1/namespaces/shop", ns);
  auto cm_gone = WaitForSync("settings", proto::EventType::kDeleted);
  ASSERT_TRUE(cm_gone.has_value()) << Logs();
  EXPECT_GT(cm_gone->second.resource_version_number, cm->second.resource_version_number);

  // The emulator's watch drops and a compaction (410) do not lose later changes.
  ASSERT_TRUE(emulator_->DropWatches().ok());
  ASSERT_TRUE(emulator_->Compact().ok());
  Create("/apis/apps/v1/namespaces/shop/deployments", Deployment("shop", "after-drop", {{"dr", "on"}}, 1));
  ASSERT_TRUE(WaitForSync("after-drop", proto::EventType::kAdded).has_value()) << Logs();

  // A garbage payload on the events subject is terminated; processing goes on.
  ASSERT_TRUE(conn_->Publish(*bus::EventsSubject(kId), "\x01garbage not protobuf", "garbage-1").ok());
  Create("/apis/apps/v1/namespaces/shop/deployments", Deployment("shop", "after-garbage", {{"dr", "on"}}, 1));
  ASSERT_TRUE(WaitForSync("after-garbage", proto::EventType::kAdded).has_value()) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Logs().find("\"msg\":\"error decoding event\"") != std::string::npos; }));
  auto stats = conn_->GetConsumerStats(*bus::StreamName(kId), "processor");
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_TRUE(WaitFor([&] {
    auto s = conn_->GetConsumerStats(*bus::StreamName(kId), "processor");
    return s.ok() && s->num_ack_pending == 0 && s->num_pending == 0;
  })) << "the garbage message must not stay pending";

  // The source was only read.
  auto counters = emulator_->Counters();
  ASSERT_TRUE(counters.ok()) << counters.status().ToString();
  long reads = 0;
  for (const auto& c : *counters) {
    if (c.user != "pipeline") continue;
    EXPECT_TRUE(c.verb == "get" || c.verb == "list" || c.verb == "watch")
        << c.verb << " " << c.resource << " x" << c.count;
    reads += c.count;
  }
  EXPECT_GT(reads, 0);

  // Orderly shutdown on SIGTERM.
  listener_->Signal(SIGTERM);
  processor_->Signal(SIGTERM);
  EXPECT_EQ(listener_->Wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(processor_->Wait(std::chrono::seconds(10)), 0);

  // Secret values never reach a log line, at debug level either.
  const std::string logs = Logs();
  EXPECT_NE(logs.find("object read from cluster"), std::string::npos);
  EXPECT_EQ(logs.find(kSecretB64), std::string::npos);
  EXPECT_EQ(logs.find("s3cr3t-passw0rd"), std::string::npos);
}

}  // namespace
}  // namespace kubesync::processor
