// One reconcile pass against two real kube-emulators (source and destination) and a
// recording publisher: what it finds, what it publishes, and what it never touches. The
// pipeline end to end (the processor and synchronizer applying these messages) is in
// tests/e2e/reconciler_test.cc.
//
// Also the missed-delete sweep's cases, moved here from the eventslistener: an object
// deleted while nothing watched gets a delete stamped with a source version newer than
// what was recorded, so a later re-creation still wins.
#include "src/reconciler.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kubesync/plan/parse.h"
#include "kubesync/service/context.h"
#include "kubesync/testsupport/emulator.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"

namespace kubesync::reconciler {
namespace {

using nlohmann::json;

constexpr char kId[] = "dr.live";
const plan::Gvr kConfigMaps{"", "v1", "configmaps"};
const plan::Gvr kSecrets{"", "v1", "secrets"};

plan::Plan MustParse(const std::string& resources_yaml) {
  auto plan = plan::ParseLiveSynchronizationYaml(
      "apiVersion: automation.astronetes.io/v1alpha1\nkind: LiveSynchronization\n"
      "metadata: {name: live, namespace: dr}\nspec:\n"
      "  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: s\n    destinationName: d\n"
      "    replication:\n      resources:\n" +
          resources_yaml,
      {.operator_namespace = "dr-system"});
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : plan::Plan{};
}

const char* kConfigMapsOnly = R"(
        - version: v1
          resource: configmaps
          filters:
            selector: {matchLabels: {dr: "on"}}
)";

json Cm(const std::string& ns, const std::string& name, const std::string& value,
        json labels = {{"dr", "on"}}) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}}},
          {"data", {{"v", value}}}};
}

class Recorder {
 public:
  PublishFn Fn() {
    return [this](std::string_view subject, std::string_view data, std::string_view msg_id) -> Status {
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_EQ(subject, "kubesync.dr.live.events");
      auto event = proto::Decode(data);
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      if (!event.ok()) return event.status();
      if (fail_next_ > 0) {
        --fail_next_;
        return UnavailableError("nats: no responders");
      }
      events_.push_back(*event);
      ids_.emplace_back(msg_id);
      return OkStatus();
    };
  }
  std::vector<proto::Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<std::string> ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  void FailNext(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = n;
  }
  // name -> type of every event published.
  std::map<std::string, proto::EventType> ByName() const {
    std::map<std::string, proto::EventType> out;
    for (const auto& e : events()) out[e.name] = e.type;
    return out;
  }

 private:
  mutable std::mutex mu_;
  int fail_next_ = 0;
  std::vector<proto::Event> events_;
  std::vector<std::string> ids_;
};

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot : {&source_cluster_, &destination_cluster_}) {
      auto emulator = testsupport::Emulator::Start({.tls = false, .token_users = {}});
      ASSERT_TRUE(emulator.ok()) << emulator.status().ToString();
      *slot = std::move(*emulator);
    }
    kube::ClientOptions options;
    options.qps = 0;
    options.max_retries = 0;
    auto src = service::ConnectCluster(source_cluster_->kubeconfig_path().string(), options);
    auto dst = service::ConnectCluster(destination_cluster_->kubeconfig_path().string(), options);
    ASSERT_TRUE(src.ok() && dst.ok());
    src_ = std::move(*src);
    dst_ = std::move(*dst);
    for (const std::string ns : {"shop", "other"}) {
      const json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
      for (kube::Client* c : {src_.get(), dst_.get()}) {
        ASSERT_TRUE(c->Create(kube::ResourceRef{"", "v1", "namespaces", "", "", ""}, object).ok());
      }
    }
  }

  std::unique_ptr<Reconciler> Make(const plan::Plan& plan, double fraction = 0.5, int64_t min = 10) {
    ReconcilerConfig config;
    config.id = kId;
    config.events_subject = "kubesync.dr.live.events";
    config.page_size = 2;  // several pages per list
    config.mass_delete_fraction = fraction;
    config.mass_delete_min = min;
    config.publish_backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(5), 2.0, 0.0};
    return std::make_unique<Reconciler>(
        *src_, *dst_, plan, config, recorder_.Fn(),
        log::Logger({.process_id = "reconciler", .level = log::Level::kDebug}, sink_), json{{"name", "s"}},
        json{{"name", "d"}});
  }

  // Writes `object` to the source and its copy (as the pipeline makes it) to the destination.
  json Synced(const plan::Plan& plan, const plan::Gvr& gvr, const json& object) {
    kube::ResourceRef collection{
        gvr.group, gvr.version, gvr.resource, object["metadata"]["namespace"].get<std::string>(), "", ""};
    auto created = src_->Create(collection, object);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    CopyToDestination(plan, gvr, *created);
    return *created;
  }
  void CopyToDestination(const plan::Plan& plan, const plan::Gvr& gvr, const json& source) {
    const plan::Rule* rule = nullptr;
    for (const auto& r : plan.rules) {
      if (r.gvr == gvr) rule = &r;
    }
    auto prepared =
        transform::PrepareForDestination(source, gvr, rule != nullptr ? rule->transformation : plan::Patch{},
                                         {"dr", "live", source["metadata"]["uid"].get<std::string>(),
                                          source["metadata"]["resourceVersion"].get<std::string>()});
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    kube::ResourceRef collection{
        gvr.group, gvr.version, gvr.resource, source["metadata"]["namespace"].get<std::string>(), "", ""};
    auto created = dst_->Create(collection, prepared->object);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  static kube::ResourceRef CmRef(const std::string& ns, const std::string& name = "") {
    return {"", "v1", "configmaps", ns, name, ""};
  }
  PassReport MustPass(Reconciler& r, bool dry_run = false) {
    auto report = r.RunPass(dry_run);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : PassReport{};
  }
  static const ResourceReport* For(const PassReport& report, const std::string& resource) {
    for (const auto& r : report.resources) {
      if (r.gvr.resource == resource) return &r;
    }
    return nullptr;
  }

  std::unique_ptr<testsupport::Emulator> source_cluster_;
  std::unique_ptr<testsupport::Emulator> destination_cluster_;
  std::unique_ptr<kube::Client> src_;
  std::unique_ptr<kube::Client> dst_;
  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  Recorder recorder_;
};

TEST_F(ReconcilerTest, FindsMissingStaleAndExtraCopiesAndPublishesTheirRepair) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  Synced(plan, kConfigMaps, Cm("shop", "same", "1"));
  const json changed = Synced(plan, kConfigMaps, Cm("shop", "changed", "1"));
  json src_changed = changed;
  src_changed["data"]["v"] = "2";
  ASSERT_TRUE(src_->Update(CmRef("shop", "changed"), src_changed).ok());
  ASSERT_TRUE(src_->Create(CmRef("shop"), Cm("shop", "missing", "1")).ok());
  Synced(plan, kConfigMaps, Cm("shop", "edited", "1"));
  auto edited = dst_->Get(CmRef("shop", "edited"));
  ASSERT_TRUE(edited.ok());
  (*edited)["data"]["v"] = "by hand";  // the hash annotation still says "1"
  ASSERT_TRUE(dst_->Update(CmRef("shop", "edited"), *edited).ok());
  const json gone = Synced(plan, kConfigMaps, Cm("other", "gone", "1"));
  ASSERT_TRUE(src_->Delete(CmRef("other", "gone")).ok());  // deleted while nothing watched
  Synced(plan, kConfigMaps, Cm("shop", "unselected", "1"));
  ASSERT_TRUE(src_->Update(CmRef("shop", "unselected"),
                           [&] {
                             json o = *src_->Get(CmRef("shop", "unselected"));
                             o["metadata"]["labels"]["dr"] = "off";
                             return o;
                           }())
                  .ok());
  // Never the reconciler's: someone's own object, another LiveSynchronization's copy, and
  // a namespace the synchronizer created (marked, but no copy of a source object).
  ASSERT_TRUE(dst_->Create(CmRef("shop"), Cm("shop", "foreign", "mine")).ok());
  json theirs = Cm("shop", "theirs", "1");
  transform::Mark(theirs, {"dr", "other-live", "uid-x", "1"});
  ASSERT_TRUE(dst_->Create(CmRef("shop"), theirs).ok());
  const json created_namespace = {{"apiVersion", "v1"},
                                  {"kind", "Namespace"},
                                  {"metadata",
                                   {{"name", "created-by-sync"},
                                    {"labels", {{"kubesync.io/managed-by", kId}}},
                                    {"annotations", {{"kubesync.io/live-synchronization", "dr/live"}}}}}};
  const kube::ResourceRef namespaces{"", "v1", "namespaces", "", "", ""};
  ASSERT_TRUE(dst_->Create(namespaces, created_namespace).ok());

  auto reconciler = Make(plan);
  const PassReport report = MustPass(*reconciler);
  const ResourceReport total = report.Total();
  EXPECT_EQ(total.missing, 1);
  EXPECT_EQ(total.stale, 2);
  EXPECT_EQ(total.extra, 2);
  EXPECT_EQ(total.written, 3);
  EXPECT_EQ(total.deleted, 2);
  EXPECT_FALSE(report.guard_tripped);
  EXPECT_EQ(report.failed_resources(), 0);
  ASSERT_EQ(report.resources.size(), 1u) << "only configmaps hold copies";
  EXPECT_EQ(report.resources[0].managed, 5);

  const auto by_name = recorder_.ByName();
  EXPECT_EQ(by_name,
            (std::map<std::string, proto::EventType>{{"changed", proto::EventType::kResync},
                                                     {"missing", proto::EventType::kResync},
                                                     {"edited", proto::EventType::kResync},
                                                     {"gone", proto::EventType::kDeleteRequest},
                                                     {"unselected", proto::EventType::kDeleteRequest}}));
  for (const proto::Event& e : recorder_.events()) {
    EXPECT_TRUE(e.verify_destination) << e.name;
    EXPECT_EQ(e.live_synchronization_id, kId);
    if (e.type == proto::EventType::kResync) {
      // The source object as listed: the processor transforms it, once.
      EXPECT_EQ(json::parse(e.object_json)["metadata"]["name"], e.name);
      EXPECT_EQ(e.kind, "ConfigMap");
    }
    if (e.name == "unselected") {
      // Its source object still exists: the delete carries no version, so the record keeps
      // the object's and selecting it again copies it again.
      EXPECT_TRUE(e.resource_version.empty());
      EXPECT_EQ(e.resource_version_number, 0u);
    }
    if (e.name == "gone") {
      EXPECT_EQ(e.uid, gone["metadata"]["uid"]);
      EXPECT_EQ(e.namespace_, "other");
      // Stamped with the source's list version: newer than the copy's, so the
      // synchronizer's record does not take it for an old event; a re-creation later
      // has a larger version still.
      EXPECT_GT(e.resource_version_number,
                std::stoull(gone["metadata"]["resourceVersion"].get<std::string>()));
      // The copy as the reconciler saw it, for the delete's preconditions.
      auto copy = dst_->Get(CmRef("other", "gone"));
      ASSERT_TRUE(copy.ok());
      const json seen = json::parse(e.object_json)["metadata"];
      EXPECT_EQ(seen["uid"], (*copy)["metadata"]["uid"]);
      EXPECT_EQ(seen["resourceVersion"], (*copy)["metadata"]["resourceVersion"]);
    }
  }
  for (const std::string& id : recorder_.ids()) {
    EXPECT_NE(id.find("/reconcile-"), std::string::npos) << id;
  }
  // Nothing was written by the reconciler itself.
  auto foreign = dst_->Get(CmRef("shop", "foreign"));
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ((*foreign)["data"]["v"], "mine");

  // The drift report.
  const auto lines = ReportLines(report);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["resource"], "configmaps");
  EXPECT_EQ(lines[0]["apiVersion"], "v1");
  EXPECT_EQ(lines[0]["missing"], 1);
  EXPECT_EQ(lines[1]["total"], true);
  EXPECT_EQ(lines[1]["stale"], 2);
  EXPECT_EQ(lines[1]["deleted"], 2);
  EXPECT_FALSE(lines[1].contains("guardTripped"));
}

TEST_F(ReconcilerTest, DryRunReportsTheSameAndPublishesNothing) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  Synced(plan, kConfigMaps, Cm("shop", "gone", "1"));
  ASSERT_TRUE(src_->Delete(CmRef("shop", "gone")).ok());
  ASSERT_TRUE(src_->Create(CmRef("shop"), Cm("shop", "missing", "1")).ok());
  auto reconciler = Make(plan);
  const PassReport report = MustPass(*reconciler, /*dry_run=*/true);
  EXPECT_EQ(report.Total().missing, 1);
  EXPECT_EQ(report.Total().extra, 1);
  EXPECT_EQ(report.Total().written, 0);
  EXPECT_EQ(report.Total().deleted, 0);
  EXPECT_TRUE(recorder_.events().empty());
  EXPECT_EQ(ReportLines(report).back()["dryRun"], true);
}

TEST_F(ReconcilerTest, CopiesOfAResourceRemovedFromThePlanAreExtra) {
  const plan::Plan both = MustParse(std::string(kConfigMapsOnly) + R"(
        - version: v1
          resource: secrets
)");
  for (int i = 0; i < 3; ++i) Synced(both, kConfigMaps, Cm("shop", "cm-" + std::to_string(i), "1"));
  Synced(both, kSecrets,
         {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"namespace", "shop"}, {"name", "s"}}},
          {"data", {{"k", "dg=="}}}});
  const plan::Plan configmaps_only = MustParse(kConfigMapsOnly);  // the secrets rule was removed
  auto reconciler = Make(configmaps_only);
  const PassReport report = MustPass(*reconciler);
  const ResourceReport* secrets = For(report, "secrets");
  ASSERT_NE(secrets, nullptr) << "the destination's discovery finds copies outside the plan";
  EXPECT_FALSE(secrets->in_plan);
  EXPECT_EQ(secrets->extra, 1);
  EXPECT_EQ(secrets->deleted, 1);
  EXPECT_EQ(report.Total().extra, 1);
  ASSERT_EQ(recorder_.events().size(), 1u);
  EXPECT_EQ(recorder_.events()[0].type, proto::EventType::kDeleteRequest);
  EXPECT_EQ(recorder_.events()[0].gvr, (proto::Gvr{"", "v1", "secrets"}));
}

TEST_F(ReconcilerTest, MassDeletionGuardStopsDeletesFromAnEmptiedSource) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  for (int i = 0; i < 12; ++i) {
    Synced(plan, kConfigMaps, Cm("shop", "cm-" + std::to_string(i), "1"));
    ASSERT_TRUE(src_->Delete(CmRef("shop", "cm-" + std::to_string(i))).ok());
  }
  auto reconciler = Make(plan);  // 12 extras > max(10, 0.5 x 12)
  const PassReport report = MustPass(*reconciler);
  EXPECT_TRUE(report.guard_tripped);
  EXPECT_EQ(report.guard_limit, 10);
  EXPECT_EQ(report.Total().extra, 12);
  EXPECT_EQ(report.Total().deleted, 0);
  EXPECT_TRUE(recorder_.events().empty());
  EXPECT_EQ(ReportLines(report).back()["guardTripped"], true);
  bool logged = false;
  for (const std::string& line : sink_->Lines()) {
    logged |= json::parse(line)["msg"] == "mass deletion guard tripped: nothing deleted";
  }
  EXPECT_TRUE(logged);

  // Told otherwise (fraction 1: no guard), and through a publisher that fails twice.
  recorder_.FailNext(2);
  auto unguarded = Make(plan, 1.0);
  const PassReport all = MustPass(*unguarded);
  EXPECT_FALSE(all.guard_tripped);
  EXPECT_EQ(all.Total().deleted, 12);
  EXPECT_EQ(recorder_.events().size(), 12u);
}

TEST_F(ReconcilerTest, AResourceThatCannotBeListedIsNotJudged) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  Synced(plan, kConfigMaps, Cm("shop", "gone", "1"));
  ASSERT_TRUE(src_->Delete(CmRef("shop", "gone")).ok());
  ASSERT_TRUE(
      source_cluster_->AddFault({.verb = "list", .resource = "configmaps", .count = 100, .code = 503}).ok());
  auto reconciler = Make(plan);
  const PassReport report = MustPass(*reconciler);
  const ResourceReport* cms = For(report, "configmaps");
  ASSERT_NE(cms, nullptr);
  EXPECT_NE(cms->error.find("listing the source"), std::string::npos) << cms->error;
  EXPECT_EQ(cms->extra, 0);
  EXPECT_EQ(report.failed_resources(), 1);
  EXPECT_TRUE(recorder_.events().empty()) << "a copy must not be deleted on a failed list";
  EXPECT_EQ(ReportLines(report)[0]["error"], cms->error);
}

TEST_F(ReconcilerTest, AnUnchangedDestinationIsInSync) {
  const plan::Plan plan = MustParse(kConfigMapsOnly);
  for (int i = 0; i < 5; ++i) Synced(plan, kConfigMaps, Cm("shop", "cm-" + std::to_string(i), "1"));
  auto reconciler = Make(plan);
  const PassReport report = MustPass(*reconciler);
  EXPECT_TRUE(report.Summary().in_sync());
  EXPECT_EQ(report.Total().managed, 5);
  EXPECT_TRUE(recorder_.events().empty());
  bool listed_log = false;
  for (const std::string& line : sink_->Lines()) {
    const json j = json::parse(line);
    if (j["msg"] == "listed objects in cluster" && j.contains("destinationCluster")) listed_log = true;
    EXPECT_NE(j["msg"], "object not found in cluster") << line;
  }
  EXPECT_TRUE(listed_log);
}

}  // namespace
}  // namespace kubesync::reconciler
