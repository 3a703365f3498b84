// The Applier against a small in-memory destination (kube::testing::FakeTransport with a
// handler that keeps objects by path and enforces resourceVersion and uid preconditions)
// and a real redis-server: the paths the emulator cannot easily produce on demand (409
// conflicts between GET and PUT, bad payloads, terminating namespaces, outages).
#include "applier.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>

#include "kubesync/kube/testing/fake_transport.h"
#include "kubesync/state/testing/redis_server.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"
#include "partition_worker.h"

namespace kubesync::synchronizer {
namespace {

using kube::HttpRequest;
using kube::HttpResponse;
using kube::testing::JsonReply;
using kube::testing::StatusReply;
using nlohmann::json;

constexpr char kId[] = "dr.live";
const plan::Gvr kConfigMaps{"", "v1", "configmaps"};
constexpr char kPath[] = "/api/v1/namespaces/team/configmaps/a";

// Objects by path; writes bump a counter used as resourceVersion.
class FakeDestination {
 public:
  Result<HttpResponse> Handle(const HttpRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string path = req.path.substr(0, req.path.find('?'));
    ++calls[req.method];
    if (fail_all_with != 0) return StatusReply(fail_all_with, "ServiceUnavailable", "down");
    if (req.method == "PUT" && before_put) before_put(*this);
    if (req.method == "DELETE" && before_delete) before_delete(*this);
    if (req.method == "GET") {
      auto it = objects.find(path);
      if (it == objects.end()) return StatusReply(404, "NotFound", path + " not found");
      return JsonReply(200, it->second);
    }
    if (req.method == "POST") {
      json obj = json::parse(req.body);
      std::string key = path + "/" + obj["metadata"].value("name", "");
      if (objects.count(key) > 0) return StatusReply(409, "AlreadyExists", "exists");
      obj["metadata"]["uid"] = "dest-uid-" + std::to_string(++rv_);
      obj["metadata"]["resourceVersion"] = std::to_string(rv_);
      objects[key] = obj;
      return JsonReply(201, obj);
    }
    if (req.method == "PUT") {
      json obj = json::parse(req.body);
      auto it = objects.find(path);
      if (it == objects.end()) return StatusReply(404, "NotFound", "gone");
      if (obj["metadata"].value("resourceVersion", "") !=
          it->second["metadata"].value("resourceVersion", "")) {
        return StatusReply(409, "Conflict",
                           "the object has been modified; please apply your changes to the latest version");
      }
      obj["metadata"]["uid"] = it->second["metadata"]["uid"];
      obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
      it->second = obj;
      return JsonReply(200, obj);
    }
    if (req.method == "DELETE") {
      last_delete_body = req.body.empty() ? json() : json::parse(req.body);
      auto it = objects.find(path);
      if (it == objects.end()) return StatusReply(404, "NotFound", "gone");
      std::string want =
          last_delete_body.is_object() ? last_delete_body["preconditions"].value("uid", "") : "";
      if (!want.empty() && want != it->second["metadata"].value("uid", "")) {
        return StatusReply(409, "Conflict", "Precondition failed: UID in precondition");
      }
      std::string want_rv =
          last_delete_body.is_object() ? last_delete_body["preconditions"].value("resourceVersion", "") : "";
      if (!want_rv.empty() && want_rv != it->second["metadata"].value("resourceVersion", "")) {
        return StatusReply(409, "Conflict", "Precondition failed: ResourceVersion in precondition");
      }
      objects.erase(it);
      return JsonReply(200, {{"kind", "Status"}, {"status", "Success"}});
    }
    return StatusReply(405, "MethodNotAllowed", req.method);
  }
  void Bump(const std::string& path) { objects[path]["metadata"]["resourceVersion"] = std::to_string(++rv_); }

  std::map<std::string, json> objects;
  std::map<std::string, int> calls;
  std::function<void(FakeDestination&)> before_put;
  std::function<void(FakeDestination&)> before_delete;
  int fail_all_with = 0;
  json last_delete_body;

 private:
  std::mutex mu_;
  int rv_ = 100;
};

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = state::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    redis_ = std::move(*redis);
    auto client = state::RedisClient::Connect({.url = redis_->url()});
    ASSERT_TRUE(client.ok());
    redis_client_ = std::move(*client);
    store_ = std::make_unique<state::ObjectStateStore>(redis_client_.get());
    auto transport = std::make_shared<kube::testing::FakeTransport>(
        [this](const HttpRequest& req) { return dest_.Handle(req); });
    kube::ClientOptions options;
    options.max_retries = 0;
    client_ = std::make_unique<kube::Client>(transport, options);
    dest_.objects["/api/v1/namespaces/team"] = {{"metadata", {{"name", "team"}}}};
    sink_ = std::make_shared<log::MemorySink>();
  }

  Applier MakeApplier(ApplierOptions options = {}, state::ProblemStore* problems = nullptr) {
    options.id = kId;
    options.destination_cluster = "destination";
    if (options.plan == nullptr) {
      auto plan = std::make_shared<plan::Plan>();
      plan->name = "live";
      plan->namespace_ = "dr";
      for (const plan::Gvr& gvr : {kConfigMaps, plan::Gvr{"", "v1", "secrets"}}) {
        plan->rules.push_back(plan::Rule{.gvr = gvr});
      }
      options.plan = plan;
    }
    return Applier(client_.get(), store_.get(), log::Logger({.process_id = "synchronizer"}, sink_), options,
                   problems);
  }

  static proto::Event Event(proto::EventType type, uint64_t rv, const std::string& value) {
    json source = {
        {"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata",
         {{"name", "a"}, {"namespace", "team"}, {"uid", "src-uid"}, {"resourceVersion", std::to_string(rv)}}},
        {"data", {{"v", value}}}};
    proto::Event ev;
    ev.type = type;
    ev.gvr = {"", "v1", "configmaps"};
    ev.kind = "ConfigMap";
    ev.namespace_ = "team";
    ev.name = "a";
    ev.uid = "src-uid";
    ev.resource_version = std::to_string(rv);
    ev.resource_version_number = rv;
    ev.live_synchronization_id = kId;
    if (type != proto::EventType::kDeleted) {
      auto prepared = transform::PrepareForDestination(source, kConfigMaps, {},
                                                       {"dr", "live", "src-uid", ev.resource_version});
      ev.object_json = prepared->object.dump();
      ev.content_hash = prepared->content_hash;
    }
    return ev;
  }

  std::unique_ptr<state::testing::RedisServer> redis_;
  std::unique_ptr<state::RedisClient> redis_client_;
  std::unique_ptr<state::ObjectStateStore> store_;
  FakeDestination dest_;
  std::unique_ptr<kube::Client> client_;
  std::shared_ptr<log::MemorySink> sink_;
};

TEST_F(ApplierTest, CreatesWithoutAReadWhenRedisRecordsNoLiveCopy) {
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  EXPECT_EQ(dest_.calls["POST"], 1);
  EXPECT_EQ(dest_.calls["GET"], 1) << "only the namespace is read";
  // A live copy is recorded: an update reads first (it needs the destination's version).
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kModified, 11, "v2")).effect, Effect::kUpdated);
  EXPECT_EQ(dest_.calls["GET"], 2);
  EXPECT_EQ(dest_.calls["PUT"], 1);
  // After a delete (tombstone) a re-creation goes straight to create again.
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kDeleted, 12, "")).effect, Effect::kDeleted);
  const int gets = dest_.calls["GET"];
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 13, "v3")).effect, Effect::kCreated);
  EXPECT_EQ(dest_.calls["GET"], gets);
  EXPECT_EQ(dest_.calls["POST"], 2);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v3");
  auto stats = store_->GetStats(kId);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->objects_synchronized, 4);
}

TEST_F(ApplierTest, CreateThatFindsOurCopyFallsBackToReadAndSkipsOrUpdates) {
  // Written before a crash that lost the Redis commit: the destination has our copy.
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  ASSERT_TRUE(store_->DeleteAll(kId).ok());
  Outcome same = applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1"));
  EXPECT_EQ(same.effect, Effect::kSkippedUnchanged);
  EXPECT_EQ(dest_.calls["POST"], 2);  // the second one answered AlreadyExists
  ASSERT_TRUE(store_->DeleteAll(kId).ok());
  Outcome changed = applier.ApplyEvent(Event(proto::EventType::kAdded, 11, "v2"));
  EXPECT_EQ(changed.effect, Effect::kUpdated);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v2");
}

TEST_F(ApplierTest, AReconcilerMessageRepairsAHandEditedOrDeletedCopyAndNothingElse) {
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  proto::Event repair = Event(proto::EventType::kResync, 10, "v1");
  repair.verify_destination = true;

  // Untouched: the destination holds the content, so even a reconciler's message writes
  // nothing (and a plain resync is skipped by Redis without reading).
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kResync, 10, "v1")).effect, Effect::kSkippedStale);
  EXPECT_EQ(applier.ApplyEvent(repair).effect, Effect::kSkippedUnchanged);
  EXPECT_EQ(dest_.calls["PUT"], 0);

  // Edited by hand on the standby: hash annotation and Redis record still say "v1".
  dest_.objects[kPath]["data"]["v"] = "by-hand";
  dest_.Bump(kPath);
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kResync, 10, "v1")).effect, Effect::kSkippedStale)
      << "a normal event keeps the zero-write resync";
  EXPECT_EQ(applier.ApplyEvent(repair).effect, Effect::kUpdated);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v1");
  EXPECT_EQ(dest_.calls["PUT"], 1);

  // Deleted by hand: created again.
  dest_.objects.erase(kPath);
  EXPECT_EQ(applier.ApplyEvent(repair).effect, Effect::kCreated);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v1");

  // Never an older version over a newer one, verified or not.
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kModified, 12, "v2")).effect, Effect::kUpdated);
  EXPECT_EQ(applier.ApplyEvent(repair).effect, Effect::kSkippedStale);
  ASSERT_TRUE(store_->DeleteAll(kId).ok());  // and without Redis, the copy's marking says so
  EXPECT_EQ(applier.ApplyEvent(repair).effect, Effect::kSkippedStale);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v2");
}

TEST_F(ApplierTest, ConflictOnUpdateIsRedoneFromAFreshRead) {
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  int puts = 0;
  dest_.before_put = [&puts](FakeDestination& d) {
    if (++puts == 1) d.Bump(kPath);  // someone wrote between our GET and PUT
  };
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kModified, 11, "v2"));
  EXPECT_EQ(outcome.effect, Effect::kUpdated) << outcome.error.ToString();
  EXPECT_EQ(outcome.disposition(), Disposition::kAck);
  EXPECT_EQ(dest_.calls["PUT"], 2);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v2");
  auto record = store_->Get(kId, "/configmaps/team/a");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->rv, 11u);
}

TEST_F(ApplierTest, EndlessConflictsGiveTheMessageBack) {
  Applier applier = MakeApplier({.max_conflict_retries = 2});
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  dest_.before_put = [](FakeDestination& d) { d.Bump(kPath); };
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kModified, 11, "v2"));
  EXPECT_EQ(outcome.effect, Effect::kRetry);
  EXPECT_EQ(outcome.disposition(), Disposition::kNak);
  EXPECT_EQ(outcome.error.code(), Code::kAborted);
  EXPECT_EQ(dest_.calls["PUT"], 3);
  auto record = store_->Get(kId, "/configmaps/team/a");
  EXPECT_EQ((*record)->rv, 10u) << "nothing committed for a write that did not happen";
}

TEST_F(ApplierTest, UnmanagedObjectIsRefusedAndTerminated) {
  dest_.objects[kPath] = {
      {"metadata", {{"name", "a"}, {"namespace", "team"}, {"uid", "u"}, {"resourceVersion", "7"}}},
      {"data", {{"v", "user"}}}};
  Applier applier = MakeApplier();
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1"));
  EXPECT_EQ(outcome.effect, Effect::kRefusedUnmanaged);
  EXPECT_EQ(outcome.disposition(), Disposition::kTerm);
  EXPECT_EQ(outcome.error.code(), Code::kFailedPrecondition);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "user");
  EXPECT_EQ(dest_.calls["PUT"], 0);
  auto record = store_->Get(kId, "/configmaps/team/a");
  EXPECT_FALSE(record->has_value());
  outcome = applier.ApplyEvent(Event(proto::EventType::kDeleted, 11, ""));
  EXPECT_EQ(outcome.effect, Effect::kRefusedUnmanaged);
  EXPECT_EQ(dest_.calls["DELETE"], 0);
  EXPECT_EQ(dest_.objects.count(kPath), 1u);
}

TEST_F(ApplierTest, DeleteCarriesTheDestinationUidPrecondition) {
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  const std::string uid = dest_.objects[kPath]["metadata"]["uid"];
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kDeleted, 12, ""));
  EXPECT_EQ(outcome.effect, Effect::kDeleted) << outcome.error.ToString();
  EXPECT_EQ(dest_.last_delete_body["preconditions"].value("uid", ""), uid);
  EXPECT_FALSE(dest_.last_delete_body["preconditions"].value("resourceVersion", "").empty());
  EXPECT_EQ(dest_.objects.count(kPath), 0u);
  auto record = store_->Get(kId, "/configmaps/team/a");
  EXPECT_TRUE((*record)->deleted);
  // The ADDED that comes again (redelivery) is older than the tombstone: no resurrection.
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kSkippedStale);
  EXPECT_EQ(dest_.objects.count(kPath), 0u);
}

TEST_F(ApplierTest, AReconcilerDeleteRemovesOnlyTheCopyItJudged) {
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  const json copy = dest_.objects[kPath];
  proto::Event request;
  request.type = proto::EventType::kDeleteRequest;
  request.gvr = {"", "v1", "configmaps"};
  request.namespace_ = "team";
  request.name = "a";
  request.uid = "src-uid";
  request.resource_version = "20";
  request.resource_version_number = 20;
  request.live_synchronization_id = kId;
  request.verify_destination = true;
  auto judged = [&](const std::string& uid, const std::string& rv) {
    proto::Event e = request;
    e.object_json =
        json{{"metadata", {{"name", "a"}, {"namespace", "team"}, {"uid", uid}, {"resourceVersion", rv}}}}
            .dump();
    return e;
  };
  const std::string uid = copy["metadata"]["uid"];
  const std::string rv = copy["metadata"]["resourceVersion"];
  // Written (by a person, or the pipeline) since the reconciler looked: not deleted.
  EXPECT_EQ(applier.ApplyEvent(judged(uid, "1")).effect, Effect::kSkippedStale);
  EXPECT_EQ(applier.ApplyEvent(judged("another-uid", rv)).effect, Effect::kSkippedStale);
  EXPECT_EQ(dest_.calls["DELETE"], 0);
  // Of another source object with the same name: not deleted.
  proto::Event other = judged(uid, rv);
  other.uid = "newer-src-uid";
  EXPECT_EQ(applier.ApplyEvent(other).effect, Effect::kSkippedStale);
  // The copy as judged: deleted, with its uid and resourceVersion as preconditions.
  EXPECT_EQ(applier.ApplyEvent(judged(uid, rv)).effect, Effect::kDeleted);
  EXPECT_EQ(dest_.last_delete_body["preconditions"].value("uid", ""), uid);
  EXPECT_EQ(dest_.last_delete_body["preconditions"].value("resourceVersion", ""), rv);
  EXPECT_EQ(dest_.objects.count(kPath), 0u);
}

TEST_F(ApplierTest, DeleteNeverRemovesANewerCopyWrittenMeanwhile) {
  Applier applier = MakeApplier();
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  // Another replica writes source version 13 between our read and our delete (at 12).
  dest_.before_delete = [](FakeDestination& d) {
    if (d.calls["DELETE"] != 1) return;
    d.objects[kPath]["metadata"]["annotations"][std::string(transform::kSourceResourceVersionAnnotation)] =
        "13";
    d.objects[kPath]["data"]["v"] = "v13";
    d.Bump(kPath);
  };
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kDeleted, 12, ""));
  EXPECT_EQ(outcome.effect, Effect::kSkippedStale) << outcome.error.ToString();
  EXPECT_EQ(outcome.disposition(), Disposition::kAck);
  ASSERT_EQ(dest_.objects.count(kPath), 1u);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v13");
  EXPECT_EQ(dest_.calls["DELETE"], 1);
}

TEST_F(ApplierTest, BadPayloadsAndForeignMessagesAreTerminated) {
  Applier applier = MakeApplier();
  Outcome garbage = applier.Apply("\x01\x02not a protobuf");
  EXPECT_EQ(garbage.effect, Effect::kInvalidMessage);
  EXPECT_EQ(garbage.disposition(), Disposition::kTerm);
  EXPECT_EQ(garbage.error.code(), Code::kInvalidArgument);
  EXPECT_EQ(garbage.error.message().rfind("envelope", 0), 0u) << garbage.error.message();

  proto::Event foreign = Event(proto::EventType::kAdded, 10, "v1");
  foreign.live_synchronization_id = "dr.other";
  Outcome other = applier.ApplyEvent(foreign);
  EXPECT_EQ(other.effect, Effect::kInvalidMessage);
  EXPECT_EQ(dest_.calls["POST"], 0);
}

TEST_F(ApplierTest, DestinationOutageIsRetriedLaterWithoutCommitting) {
  Applier applier = MakeApplier();
  dest_.fail_all_with = 503;
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1"));
  EXPECT_EQ(outcome.effect, Effect::kRetry);
  EXPECT_EQ(outcome.disposition(), Disposition::kNak);
  EXPECT_EQ(outcome.error.code(), Code::kUnavailable);
  EXPECT_FALSE(store_->Get(kId, "/configmaps/team/a")->has_value());
  dest_.fail_all_with = 0;
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
}

TEST_F(ApplierTest, TerminatingNamespaceWaits) {
  dest_.objects["/api/v1/namespaces/team"]["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  Applier applier = MakeApplier({.force_namespace_creation = true});
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1"));
  EXPECT_EQ(outcome.effect, Effect::kNamespaceMissing);
  EXPECT_EQ(outcome.disposition(), Disposition::kNak);
  EXPECT_EQ(dest_.calls["POST"], 0);
}

TEST_F(ApplierTest, MissingNamespaceWaitsUnlessItIsSelectedOrForced) {
  dest_.objects.erase("/api/v1/namespaces/team");
  Applier applier = MakeApplier();
  proto::Event ev = Event(proto::EventType::kAdded, 10, "v1");
  Outcome waiting = applier.ApplyEvent(ev);
  EXPECT_EQ(waiting.effect, Effect::kNamespaceMissing);
  EXPECT_EQ(waiting.disposition(), Disposition::kNak);
  EXPECT_EQ(dest_.calls["POST"], 0);

  // The processor says the Namespace is itself replicated: create it now rather than wait
  // for its own message, which may be queued behind this one in the same partition.
  ev.namespace_selected = true;
  ev.namespace_labels_json = R"({"env":"pre","kubesync.io/managed-by":"someone-else"})";
  EXPECT_EQ(applier.ApplyEvent(ev).effect, Effect::kCreated);
  ASSERT_EQ(dest_.objects.count("/api/v1/namespaces/team"), 1u);
  const json& ns = dest_.objects["/api/v1/namespaces/team"];
  EXPECT_EQ(ns["metadata"]["annotations"]["kubesync.io/live-synchronization"], "dr/live");
  EXPECT_EQ(ns["metadata"]["labels"]["env"], "pre") << "the source namespace's labels come along";
  EXPECT_EQ(ns["metadata"]["labels"]["kubesync.io/managed-by"], "dr.live");
  EXPECT_EQ(dest_.objects.count(kPath), 1u);
}

TEST_F(ApplierTest, RedisOutageIsRetriedLater) {
  Applier applier = MakeApplier();
  redis_->Stop();
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1"));
  EXPECT_EQ(outcome.effect, Effect::kRetry);
  EXPECT_EQ(outcome.error.code(), Code::kUnavailable);
  EXPECT_EQ(dest_.calls["POST"], 0) << "no write without the ordering check";
}

TEST_F(ApplierTest, SecretDataNeverReachesTheLog) {
  Applier applier = MakeApplier();
  proto::Event ev = Event(proto::EventType::kAdded, 10, "v1");
  ev.gvr = {"", "v1", "secrets"};
  ev.kind = "Secret";
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "a"}, {"namespace", "team"}}},
                 {"data", {{"password", "c3VwZXItc2VjcmV0"}}}};
  transform::Mark(secret, {"dr", "live", "src-uid", "10"});
  ev.object_json = secret.dump();
  ev.content_hash = transform::RecordedContentHash(secret);
  dest_.fail_all_with = 0;
  EXPECT_EQ(applier.ApplyEvent(ev).effect, Effect::kCreated);
  ASSERT_FALSE(sink_->Lines().empty());
  for (const auto& line : sink_->Lines()) EXPECT_EQ(line.find("c3VwZXItc2VjcmV0"), std::string::npos) << line;
}

TEST_F(ApplierTest, CreateOrUpdateOutsideThePlanIsRefusedAndTerminated) {
  auto plan = std::make_shared<plan::Plan>();
  plan->name = "live";
  plan->namespace_ = "dr";
  plan->rules.push_back(plan::Rule{.gvr = {"", "v1", "services"}});  // no configmaps rule
  Applier applier = MakeApplier({.plan = plan});
  Outcome outcome = applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1"));
  EXPECT_EQ(outcome.effect, Effect::kRefusedNotInPlan);
  EXPECT_EQ(outcome.disposition(), Disposition::kTerm);
  EXPECT_EQ(outcome.error.code(), Code::kPermissionDenied);
  EXPECT_EQ(dest_.calls["POST"] + dest_.calls["PUT"] + dest_.calls["GET"], 0) << "nothing read or written";
  ASSERT_FALSE(sink_->Lines().empty());
  json line = json::parse(sink_->Lines().back());
  EXPECT_EQ(line["msg"], "object not in the plan; refused");
  EXPECT_EQ(line["sourceObject"]["name"], "a");
  EXPECT_EQ(line["sourceObject"]["resource"], "configmaps");
  EXPECT_NE(line["error"].get<std::string>().find("no rule replicates v1/configmaps"), std::string::npos);
}

TEST_F(ApplierTest, DeleteOfOurCopyStaysAllowedAfterItsRuleIsRemoved) {
  Applier full = MakeApplier();
  ASSERT_EQ(full.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  auto plan = std::make_shared<plan::Plan>();
  plan->name = "live";
  plan->namespace_ = "dr";
  plan->rules.push_back(plan::Rule{.gvr = {"", "v1", "services"}});  // the configmaps rule is gone
  Applier pruning = MakeApplier({.plan = plan});
  EXPECT_EQ(pruning.ApplyEvent(Event(proto::EventType::kDeleted, 11, "")).effect, Effect::kDeleted);
  EXPECT_EQ(dest_.objects.count(kPath), 0u);
}

TEST(NakDelayTest, GrowsAndIsCapped) {
  EXPECT_EQ(NakDelay(1).count(), 250);
  EXPECT_EQ(NakDelay(2).count(), 500);
  EXPECT_EQ(NakDelay(4).count(), 2000);
  EXPECT_EQ(NakDelay(100).count(), 5000);
}

}  // namespace
}  // namespace kubesync::synchronizer

namespace kubesync::synchronizer {
namespace {

// Issue 10, item 6: a version given up on (parked, or too large for the bus) holds the
// object: an older version must not take it back in time, and the entry goes once a
// version at least as new is applied.
TEST_F(ApplierTest, ProblemEntryHoldsBackOlderVersionsAndGoesWhenANewerOneLands) {
  state::ProblemStore problems(redis_client_.get());
  Applier applier = MakeApplier({}, &problems);  // with a plan replicating the object (issue 10 item 11)
  ASSERT_EQ(applier.ApplyEvent(Event(proto::EventType::kAdded, 10, "v1")).effect, Effect::kCreated);
  ASSERT_TRUE(applier
                  .Park(Event(proto::EventType::kModified, 12, "v12"), state::kProblemDeliveryLimit,
                        UnavailableError("boom"), 3)
                  .ok());
  auto entry = problems.Get(kId, "/configmaps/team/a");
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->rv, 12u);
  EXPECT_EQ((*entry)->message, "UNAVAILABLE: boom");
  // Version 11 was still being retried when 12 was parked: it stays out.
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kModified, 11, "v11")).effect, Effect::kSkippedStale);
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kDeleted, 11, "")).effect, Effect::kSkippedStale);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v1");
  EXPECT_EQ(*problems.Count(kId), 1);
  // The parked version itself (a resync re-sends it) goes through and ends the problem.
  EXPECT_EQ(applier.ApplyEvent(Event(proto::EventType::kResync, 12, "v12")).effect, Effect::kUpdated);
  EXPECT_EQ(dest_.objects[kPath]["data"]["v"], "v12");
  EXPECT_EQ(*problems.Count(kId), 0);
}

TEST(DecideTest, ParksWhatCannotSucceedAndWaitsOutOutages) {
  const auto up = [] { return true; };
  const auto down = [] { return false; };
  EXPECT_EQ(Decide({Effect::kCreated, {}}, 1, 5, up), Settlement::kAck);
  EXPECT_EQ(Decide({Effect::kSkippedStale, {}}, 9, 5, down), Settlement::kAck);
  // Refused for good: parked at once, whatever the delivery.
  EXPECT_EQ(Decide({Effect::kFailed, InvalidArgumentError("422")}, 1, 5, down), Settlement::kPark);
  EXPECT_EQ(Decide({Effect::kRefusedUnmanaged, FailedPreconditionError("x")}, 1, 5, up), Settlement::kPark);
  EXPECT_EQ(Decide({Effect::kInvalidMessage, InvalidArgumentError("x")}, 1, 5, up), Settlement::kTerm);
  // Retryable: again until the bound, then parked only while the destination answers.
  EXPECT_EQ(Decide({Effect::kRetry, UnavailableError("500")}, 4, 5, up), Settlement::kNak);
  EXPECT_EQ(Decide({Effect::kNamespaceMissing, NotFoundError("ns")}, 5, 5, up), Settlement::kPark);
  EXPECT_EQ(Decide({Effect::kRetry, UnavailableError("500")}, 5, 5, down), Settlement::kNakOutage);
  EXPECT_EQ(Decide({Effect::kRetry, UnavailableError("500")}, 50, 5, nullptr), Settlement::kPark);
}

}  // namespace
}  // namespace kubesync::synchronizer
