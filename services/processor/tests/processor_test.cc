// Processor decisions against a hand-written SourceView and a plan parsed from YAML.
#include "src/processor.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "kubesync/bus/subjects.h"
#include "kubesync/plan/parse.h"

namespace kubesync::processor {
namespace {

using nlohmann::json;

plan::Plan MustParse(const std::string& resources_yaml) {
  auto plan = plan::ParseLiveSynchronizationYaml(
      "apiVersion: automation.astronetes.io/v1alpha1\nkind: LiveSynchronization\n"
      "metadata: {name: live, namespace: dr}\nspec:\n"
      "  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: s\n    destinationName: d\n"
      "    replication:\n      resources:\n" +
      resources_yaml);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : plan::Plan{};
}

const char* kPlan = R"(
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

class FakeSource final : public SourceView {
 public:
  Result<json> NamespaceLabels(const std::string& ns) override {
    if (unavailable) return UnavailableError("connection refused");
    auto it = namespace_labels.find(ns);
    return it == namespace_labels.end() ? json() : it->second;
  }
  Result<std::string> Kind(const plan::Gvr& gvr) override {
    if (gvr.resource == "deployments") return std::string("Deployment");
    if (gvr.resource == "configmaps") return std::string("ConfigMap");
    if (gvr.resource == "secrets") return std::string("Secret");
    return NotFoundError("no kind for " + gvr.resource);
  }
  Result<bool> Namespaced(const plan::Gvr&) override { return true; }
  Result<std::vector<json>> ListInNamespace(const plan::Gvr& gvr, const std::string& ns) override {
    std::vector<json> out;
    for (const auto& [key, obj] : objects) {
      if (key.first == gvr.resource && obj["metadata"]["namespace"] == ns) out.push_back(obj);
    }
    return out;
  }
  Result<uint64_t> NamespaceVersion(const std::string& ns) override {
    auto it = namespace_versions.find(ns);
    return it == namespace_versions.end() ? uint64_t{0} : it->second;
  }
  bool unavailable = false;
  std::map<std::string, json> namespace_labels;
  std::map<std::string, uint64_t> namespace_versions;
  std::map<std::pair<std::string, std::string>, json> objects;  // (resource, name)
};

json Obj(const std::string& ns, const std::string& name, const std::string& rv, json labels = json::object()) {
  return {{"metadata",
           {{"namespace", ns}, {"name", name}, {"uid", "uid-" + name}, {"resourceVersion", rv}, {"labels", labels}}}};
}

json Deploy(const std::string& name, const std::string& rv, json labels, int replicas = 3) {
  json d = Obj("shop", name, rv, std::move(labels));
  d["spec"] = {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}};
  d["status"] = {{"readyReplicas", replicas}};
  return d;
}

proto::Event Ev(proto::EventType type, const proto::Gvr& gvr, const json& object) {
  proto::Event e;
  e.type = type;
  e.gvr = gvr;
  e.namespace_ = object["metadata"].value("namespace", "");
  e.name = object["metadata"]["name"];
  e.uid = object["metadata"].value("uid", "");
  e.resource_version = object["metadata"]["resourceVersion"];
  e.resource_version_number = std::stoull(e.resource_version);
  e.live_synchronization_id = "dr.live";
  e.object_json = object.dump();
  return e;
}

const proto::Gvr kDeployments{"apps", "v1", "deployments"};
const proto::Gvr kConfigMaps{"", "v1", "configmaps"};
const proto::Gvr kSecrets{"", "v1", "secrets"};
const proto::Gvr kPods{"", "v1", "pods"};
const proto::Gvr kNamespaces{"", "v1", "namespaces"};

class ProcessorTest : public ::testing::Test {
 protected:
  ProcessorTest()
      : plan_(MustParse(kPlan)),
        sink_(std::make_shared<log::MemorySink>()),
        processor_(plan_, Config(), source_, [this](const std::string& key) -> Result<bool> {
          return synced_.count(key) > 0;
        }, log::Logger({.process_id = "processor", .level = log::Level::kDebug}, sink_), json{{"name", "s"}}) {
    source_.namespace_labels["shop"] = {{"dr", "on"}};
  }
  static ProcessorConfig Config() {
    ProcessorConfig c;
    c.id = "dr.live";
    c.ls_namespace = "dr";
    c.ls_name = "live";
    c.partitions = 4;
    return c;
  }
  std::vector<Outgoing> MustProcess(const proto::Event& e) {
    auto out = processor_.Process(e);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : std::vector<Outgoing>{};
  }

  plan::Plan plan_;
  FakeSource source_;
  std::set<std::string> synced_;
  std::shared_ptr<log::MemorySink> sink_;
  Processor processor_;
};

TEST_F(ProcessorTest, SelectedDeploymentIsTransformedMarkedAndRouted) {
  auto out = MustProcess(Ev(proto::EventType::kAdded, kDeployments, Deploy("web", "10", {{"dr", "on"}})));
  ASSERT_EQ(out.size(), 1u);
  const Outgoing& o = out[0];
  EXPECT_EQ(o.event.type, proto::EventType::kAdded);
  const json obj = json::parse(o.event.object_json);
  EXPECT_EQ(obj["spec"]["replicas"], 0);
  EXPECT_EQ(obj["kind"], "Deployment");  // list items carry none: filled from discovery
  EXPECT_EQ(obj["apiVersion"], "apps/v1");
  EXPECT_FALSE(obj.contains("status"));
  EXPECT_EQ(json::parse(obj["metadata"]["annotations"]["kubesync.io/original-values"].get<std::string>()),
            json::parse(R"([{"path":"/spec/replicas","value":3}])"));
  EXPECT_EQ(obj["metadata"]["annotations"]["kubesync.io/source-resource-version"], "10");
  EXPECT_EQ(o.event.content_hash, obj["metadata"]["annotations"]["kubesync.io/content-hash"]);
  EXPECT_EQ(o.subject, *bus::SyncSubject("dr.live", bus::Partition("apps/deployments/shop/web", 4)));
  EXPECT_EQ(o.msg_id, "sync/uid-web/10/ADDED");
}

TEST_F(ProcessorTest, ReconcilerMessagesKeepTheirFlagAndGetTheirOwnMessageId) {
  proto::Event repair = Ev(proto::EventType::kResync, kDeployments, Deploy("web", "10", {{"dr", "on"}}));
  repair.verify_destination = true;
  repair.observed_at_unix_nanos = 1234;
  auto out = MustProcess(repair);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].event.verify_destination);
  EXPECT_EQ(json::parse(out[0].event.object_json)["spec"]["replicas"], 0);  // transformed once, here
  // Not swallowed by the stream's duplicate window after the listener's own RESYNC.
  EXPECT_EQ(out[0].msg_id, "sync/uid-web/10/RESYNC/reconcile-1234");
}

TEST_F(ProcessorTest, DeleteRequestOfAResourceNoLongerInThePlanIsForwarded) {
  // The rule for this resource was removed: only the reconciler finds its copies.
  proto::Event request;
  request.type = proto::EventType::kDeleteRequest;
  request.gvr = {"batch", "v1", "cronjobs"};
  request.namespace_ = "shop";
  request.name = "nightly";
  request.uid = "uid-nightly";
  request.resource_version = "99";
  request.resource_version_number = 99;
  request.live_synchronization_id = "dr.live";
  request.verify_destination = true;
  request.observed_at_unix_nanos = 7;
  auto out = MustProcess(request);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.type, proto::EventType::kDeleteRequest);
  EXPECT_EQ(out[0].event.uid, "uid-nightly");
  EXPECT_EQ(out[0].msg_id, "sync/uid-nightly/99/DELETE_REQUEST/reconcile-7");
  // A plain DELETED of a resource outside the plan is still dropped.
  request.type = proto::EventType::kDeleted;
  request.verify_destination = false;
  EXPECT_TRUE(MustProcess(request).empty());
}

TEST_F(ProcessorTest, OutOfScopeObjectsProduceNothingUnlessTheyWereSynced) {
  const proto::Event added = Ev(proto::EventType::kAdded, kDeployments, Deploy("other", "11", {{"dr", "off"}}));
  EXPECT_TRUE(MustProcess(added).empty());
  const proto::Event resync = Ev(proto::EventType::kResync, kDeployments, Deploy("other", "11", {{"dr", "off"}}));
  EXPECT_TRUE(MustProcess(resync).empty());
  // The destination holds a live copy (Redis record): the resync removes it.
  synced_.insert("apps/deployments/shop/other");
  auto out = MustProcess(resync);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.type, proto::EventType::kDeleted);
}

TEST_F(ProcessorTest, LabelChangeOutOfScopeIsDeleted) {
  auto out = MustProcess(Ev(proto::EventType::kModified, kDeployments, Deploy("web", "12", {{"dr", "off"}})));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.type, proto::EventType::kDeleted);
  EXPECT_TRUE(out[0].event.object_json.empty());
  EXPECT_EQ(out[0].event.resource_version, "12");
  EXPECT_EQ(out[0].msg_id, "sync/uid-web/12/DELETED");
}

TEST_F(ProcessorTest, DeletedEventsPassThroughAsDeleted) {
  proto::Event del = Ev(proto::EventType::kDeleted, kDeployments, Deploy("web", "13", {{"dr", "on"}}));
  auto out = MustProcess(del);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.type, proto::EventType::kDeleted);
  EXPECT_EQ(out[0].event.uid, "uid-web");
}

TEST_F(ProcessorTest, SkipsServiceAccountTokensAndControllerOwnedPods) {
  json token = Obj("shop", "sa-token", "20");
  token["type"] = "kubernetes.io/service-account-token";
  token["data"] = {{"token", "c2VjcmV0"}};
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kAdded, kSecrets, token)).empty());
  json pod = Obj("shop", "web-abc", "21");
  pod["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"},
                                                     {"name", "web-5d8f"}, {"uid", "x"}, {"controller", true}}});
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kAdded, kPods, pod)).empty());
  json opaque = Obj("shop", "creds", "22");
  opaque["type"] = "Opaque";
  opaque["data"] = {{"password", "c2VjcmV0"}};
  EXPECT_EQ(MustProcess(Ev(proto::EventType::kAdded, kSecrets, opaque)).size(), 1u);
  for (const std::string& line : sink_->Lines()) EXPECT_EQ(line.find("c2VjcmV0"), std::string::npos) << line;
}

TEST_F(ProcessorTest, NamespaceSelectorUsesTheNamespaceLabels) {
  json cm = Obj("shop", "settings", "30");
  EXPECT_EQ(MustProcess(Ev(proto::EventType::kAdded, kConfigMaps, cm)).size(), 1u);
  json elsewhere = Obj("plain", "settings", "31");
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kAdded, kConfigMaps, elsewhere)).empty());
  source_.unavailable = true;
  auto failed = processor_.Process(Ev(proto::EventType::kAdded, kConfigMaps, cm));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);  // retried (Nak), not dropped
}

TEST_F(ProcessorTest, NamespaceLabelChangeReevaluatesItsObjects) {
  source_.objects[{"configmaps", "settings"}] = Obj("shop", "settings", "40");
  source_.objects[{"deployments", "web"}] = Deploy("web", "41", {{"dr", "on"}});
  json ns = {{"metadata", {{"name", "shop"}, {"uid", "ns-uid"}, {"resourceVersion", "50"}, {"labels", {{"dr", "off"}}}}}};
  auto out = MustProcess(Ev(proto::EventType::kModified, kNamespaces, ns));
  ASSERT_EQ(out.size(), 2u);
  std::map<std::string, const Outgoing*> by_name;
  for (const auto& o : out) by_name[o.event.name] = &o;
  // The ConfigMap leaves scope with the namespace, at the namespace's (newer) version.
  ASSERT_TRUE(by_name.count("settings"));
  EXPECT_EQ(by_name["settings"]->event.type, proto::EventType::kDeleted);
  EXPECT_EQ(by_name["settings"]->event.resource_version, "50");
  EXPECT_EQ(by_name["settings"]->msg_id, "sync/uid-settings/50/DELETED/ns-50");
  // The Deployment's rule has no namespace selector: still in scope, source rv kept in its mark.
  ASSERT_TRUE(by_name.count("web"));
  EXPECT_EQ(by_name["web"]->event.type, proto::EventType::kResync);
  const json web = json::parse(by_name["web"]->event.object_json);
  EXPECT_EQ(web["metadata"]["annotations"]["kubesync.io/source-resource-version"], "41");
  // Back in scope.
  ns["metadata"]["labels"]["dr"] = "on";
  ns["metadata"]["resourceVersion"] = "51";
  out = MustProcess(Ev(proto::EventType::kModified, kNamespaces, ns));
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) EXPECT_EQ(o.event.type, proto::EventType::kResync) << o.event.name;
}

TEST_F(ProcessorTest, ObjectOutOfScopeByItsNamespaceOnAListIsDeletedAtTheNamespaceVersion) {
  // The namespace lost its label while nothing watched; the unchanged ConfigMap comes
  // again (ADDED after a listener restart) at the very version the synchronizer recorded.
  source_.namespace_labels["shop"] = {{"dr", "off"}};
  source_.namespace_versions["shop"] = 70;
  synced_.insert("/configmaps/shop/settings");
  auto out = MustProcess(Ev(proto::EventType::kAdded, kConfigMaps, Obj("shop", "settings", "40")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.type, proto::EventType::kDeleted);
  EXPECT_EQ(out[0].event.resource_version, "70");
  EXPECT_EQ(out[0].event.resource_version_number, 70u);
  EXPECT_EQ(out[0].msg_id, "sync/uid-settings/70/DELETED");
  // An object newer than its namespace keeps its own version.
  out = MustProcess(Ev(proto::EventType::kResync, kConfigMaps, Obj("shop", "settings", "80")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.resource_version, "80");
  // Without a record nothing is sent.
  synced_.clear();
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kAdded, kConfigMaps, Obj("shop", "settings", "40"))).empty());
}

TEST(ProcessorNamespaces, ObjectsSayWhetherTheirNamespaceIsReplicatedToo) {
  plan::Plan plan = MustParse(R"(
        - version: v1
          resource: namespaces
          filters:
            selector: {matchLabels: {dr: "on"}}
        - version: v1
          resource: secrets
)");
  FakeSource source;
  source.namespace_labels["shop"] = {{"dr", "on"}};
  source.namespace_labels["lab"] = json::object();
  ProcessorConfig config;
  config.id = "dr.live";
  config.ls_namespace = "dr";
  config.ls_name = "live";
  config.partitions = 4;
  auto sink = std::make_shared<log::MemorySink>();
  Processor processor(plan, config, source, nullptr, log::Logger({.process_id = "processor"}, sink),
                      json{{"name", "s"}});
  auto in_shop = processor.Process(Ev(proto::EventType::kAdded, kSecrets, Obj("shop", "s1", "5")));
  ASSERT_TRUE(in_shop.ok()) << in_shop.status().ToString();
  ASSERT_EQ(in_shop->size(), 1u);
  EXPECT_TRUE((*in_shop)[0].event.namespace_selected);
  EXPECT_EQ(json::parse((*in_shop)[0].event.namespace_labels_json), json({{"dr", "on"}}));
  auto in_lab = processor.Process(Ev(proto::EventType::kAdded, kSecrets, Obj("lab", "s2", "6")));
  ASSERT_TRUE(in_lab.ok()) << in_lab.status().ToString();
  ASSERT_EQ(in_lab->size(), 1u);
  EXPECT_FALSE((*in_lab)[0].event.namespace_selected);
}

TEST_F(ProcessorTest, NamespaceSelectedIsUnsetWhenNamespacesAreNotReplicated) {
  auto out = MustProcess(Ev(proto::EventType::kAdded, kDeployments, Deploy("web", "10", {{"dr", "on"}})));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].event.namespace_selected);
}

TEST_F(ProcessorTest, IgnoresResourcesOutsideThePlanAndDefaultExclusions) {
  json svc = Obj("shop", "svc", "60");
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kAdded, {"", "v1", "services"}, svc)).empty());
  json sys = Deploy("coredns", "61", {{"dr", "on"}});
  sys["metadata"]["namespace"] = "kube-system";
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kAdded, kDeployments, sys)).empty());
  EXPECT_TRUE(MustProcess(Ev(proto::EventType::kDeleted, kDeployments, sys)).empty());
}

TEST_F(ProcessorTest, BadObjectJsonIsTerminal) {
  proto::Event e = Ev(proto::EventType::kAdded, kDeployments, Deploy("web", "70", {{"dr", "on"}}));
  e.object_json = "{not json";
  auto out = processor_.Process(e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "envelope.object_json: not a JSON object");
}

TEST_F(ProcessorTest, TransformationThatCannotApplyIsTerminalAndLogged) {
  json d = Deploy("web", "80", {{"dr", "on"}});
  d["spec"].erase("replicas");
  auto out = processor_.Process(Ev(proto::EventType::kAdded, kDeployments, d));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
  bool logged = false;
  for (const std::string& line : sink_->Lines()) logged |= json::parse(line)["msg"] == "error transforming object";
  EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace kubesync::processor
