// Client against the real emulator binary over TLS: token, client-certificate, tokenFile
// and exec-plugin users; verbs, errors, paging, discovery, retries on injected faults.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "kubesync/kube/client.h"
#include "kubesync/kube/discovery.h"
#include "kubesync/kube/errors.h"
#include "kubesync/testsupport/emulator.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;
using testsupport::Emulator;
using testsupport::EmulatorFault;
using testsupport::EmulatorOptions;
using testsupport::TempDir;
using testsupport::WriteFile;

std::string B64(const std::string& in) {
  static const char kT[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kT[(n >> 18) & 63], kT[(n >> 12) & 63], kT[(n >> 6) & 63], kT[n & 63]};
  }
  if (in.size() - i == 1) {
    unsigned n = uint8_t(in[i]) << 16;
    out += {kT[(n >> 18) & 63], kT[(n >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    unsigned n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kT[(n >> 18) & 63], kT[(n >> 12) & 63], kT[(n >> 6) & 63], '='};
  }
  return out;
}

ResourceRef Cm(const std::string& ns = "default", const std::string& name = "") {
  return ResourceRef{"", "v1", "configmaps", ns, name, ""};
}

json ConfigMap(const std::string& name, const std::string& value) {
  return {
      {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
}

class ClientIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EmulatorOptions options;
    options.token_users = {{"admin", "admin"}, {"viewer", "reader"}};
    options.cert_users = {{"alice", "admin"}};
    auto emu = Emulator::Start(options);
    ASSERT_TRUE(emu.ok()) << emu.status().ToString();
    emulator_ = std::move(emu).value().release();
  }
  static void TearDownTestSuite() {
    delete emulator_;
    emulator_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(emulator_, nullptr);
    ASSERT_TRUE(emulator_->ClearFaults().ok());
  }

  static std::unique_ptr<Client> ClientFor(const std::string& user, ClientOptions options = {}) {
    Result<Kubeconfig> kc = Kubeconfig::LoadFile(emulator_->kubeconfig_path(user));
    EXPECT_TRUE(kc.ok()) << kc.status().ToString();
    Result<RestConfig> rc = kc->ToRestConfig();
    EXPECT_TRUE(rc.ok()) << rc.status().ToString();
    Result<std::unique_ptr<Client>> client = Client::Create(*rc, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  // A kubeconfig for the emulator with the given `user:` block.
  static std::string KubeconfigWithUser(const std::string& user_yaml, const std::string& cluster_extra = "") {
    std::string cluster =
        cluster_extra.empty() ? "certificate-authority-data: " + B64(emulator_->ca_pem()) : cluster_extra;
    return "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
           "clusters: [{name: c, cluster: {server: \"" +
           emulator_->url() + "\", " + cluster +
           "}}]\n"
           "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
           "users: [{name: u, user: " +
           user_yaml + "}]\n";
  }

  static std::unique_ptr<Client> ClientFromYaml(const std::string& yaml, ClientOptions options = {}) {
    Result<Kubeconfig> kc = Kubeconfig::Parse(yaml);
    EXPECT_TRUE(kc.ok()) << kc.status().ToString();
    Result<std::unique_ptr<Client>> client = Client::Create(kc->ToRestConfig().value(), options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  static Emulator* emulator_;
};

Emulator* ClientIntegrationTest::emulator_ = nullptr;

TEST_F(ClientIntegrationTest, VerbsAndErrorsOverTlsWithAToken) {
  auto client = ClientFor("admin");
  Result<json> created = client->Create(Cm(), ConfigMap("verbs", "1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::string rv = (*created)["metadata"]["resourceVersion"];

  Result<json> again = client->Create(Cm(), ConfigMap("verbs", "1"));
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.status().reason(), "AlreadyExists");
  EXPECT_EQ(again.status().http_status(), 409);

  json update = *created;
  update["data"]["v"] = "2";
  Result<json> updated = client->Update(Cm("default", "verbs"), update);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  Result<json> stale = client->Update(Cm("default", "verbs"), update);  // old RV
  EXPECT_EQ(stale.status().code(), Code::kAborted);
  EXPECT_EQ(stale.status().reason(), "Conflict");

  Result<json> merged = client->Patch(Cm("default", "verbs"), PatchType::kMerge, R"({"data":{"w":"x"}})");
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ((*merged)["data"], (json{{"v", "2"}, {"w", "x"}}));
  Result<json> failed_test = client->Patch(Cm("default", "verbs"), PatchType::kJson,
                                           R"([{"op":"test","path":"/data/v","value":"nope"}])");
  EXPECT_EQ(failed_test.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(failed_test.status().http_status(), 422);
  Result<json> applied =
      client->Patch(Cm("default", "verbs"), PatchType::kApply,
                    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"verbs"},"data":{"a":"1"}})",
                    {.field_manager = "kubesync-test", .force = true});
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ((*applied)["data"]["a"], "1");

  DeleteOptions wrong;
  wrong.precondition_resource_version = rv;
  Result<json> precondition = client->Delete(Cm("default", "verbs"), wrong);
  EXPECT_EQ(precondition.status().code(), Code::kAborted);
  EXPECT_EQ(precondition.status().http_status(), 409);
  DeleteOptions background;
  background.propagation_policy = "Background";
  ASSERT_TRUE(client->Delete(Cm("default", "verbs"), background).ok());
  Result<json> gone = client->Get(Cm("default", "verbs"));
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_EQ(gone.status().reason(), "NotFound");
  EXPECT_EQ(client->Delete(Cm("default", "verbs")).status().code(), Code::kNotFound);

  Result<json> missing_ns = client->Create(Cm("no-such-ns"), ConfigMap("x", "1"));
  EXPECT_EQ(missing_ns.status().code(), Code::kNotFound);
}

TEST_F(ClientIntegrationTest, ClusterScopedSubresourcesAndDiscovery) {
  auto client = ClientFor("admin");
  ResourceRef ns{"", "v1", "namespaces", "", "", ""};
  ASSERT_TRUE(client->Create(ns, {{"metadata", {{"name", "kube-int"}}}}).ok());
  ResourceRef deploy{"apps", "v1", "deployments", "kube-int", "", ""};
  json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", "web"}}},
            {"spec",
             {{"replicas", 2},
              {"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", "web"}}}}},
                {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "nginx"}}})}}}}}}}};
  ASSERT_TRUE(client->Create(deploy, d).ok());
  ResourceRef scale = deploy;
  scale.name = "web";
  scale.subresource = "scale";
  Result<json> s = client->Get(scale);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)["spec"]["replicas"], 2);
  ASSERT_TRUE(client->Patch(scale, PatchType::kMerge, R"({"spec":{"replicas":0}})").ok());
  deploy.name = "web";
  EXPECT_EQ((*client->Get(deploy))["spec"]["replicas"], 0);

  Discovery discovery(*client);
  Result<ApiResource> r = discovery.Resolve("apps", "v1", "deployments");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, "Deployment");
  EXPECT_TRUE(r->namespaced);
  EXPECT_TRUE(r->HasSubresource("scale"));
  Result<ApiResource> nsr = discovery.Resolve("", "v1", "namespaces");
  ASSERT_TRUE(nsr.ok());
  EXPECT_FALSE(nsr->namespaced);
  EXPECT_EQ(discovery.Resolve("apps", "v1", "widgets").status().code(), Code::kNotFound);
  EXPECT_EQ(discovery.Resolve("example.com", "v1", "widgets").status().code(), Code::kNotFound);

  // A CRD: unknown first, found after it is established (refresh on miss).
  ResourceRef crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", "", "", ""};
  json crd = json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true,
        "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
  ASSERT_TRUE(client->Create(crds, crd).ok());
  Result<ApiResource> widget = discovery.Resolve("example.com", "v1", "widgets");
  ASSERT_TRUE(testsupport::WaitFor([&] {
    widget = discovery.Resolve("example.com", "v1", "widgets");
    return widget.ok();
  })) << widget.status().ToString();
  EXPECT_EQ(widget->kind, "Widget");
}

TEST_F(ClientIntegrationTest, ListPagesThroughOneSnapshot) {
  auto client = ClientFor("admin");
  ResourceRef ns{"", "v1", "namespaces", "", "", ""};
  ASSERT_TRUE(client->Create(ns, {{"metadata", {{"name", "paging"}}}}).ok());
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(client->Create(Cm("paging"), ConfigMap("cm" + std::to_string(i), "x")).ok());
  }
  ListOptions lo;
  lo.limit = 10;
  Result<ListPage> first = client->ListOnePage(Cm("paging"), lo);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->items.size(), 10u);
  EXPECT_FALSE(first->continue_token.empty());
  Result<ListResult> all = client->List(Cm("paging"), lo);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->items.size(), 25u);
  EXPECT_EQ(all->kind, "ConfigMapList");
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  ASSERT_TRUE(client->List(Cm("paging"), lo).ok());
  EXPECT_EQ(*emulator_->CountRequests("list", "configmaps"), 3);

  lo.label_selector = "bad selector ((";
  EXPECT_EQ(client->List(Cm("paging"), lo).status().code(), Code::kInvalidArgument);
}

TEST_F(ClientIntegrationTest, ClientCertificateUserAndAuthErrors) {
  auto alice = ClientFor("alice");
  Result<ListResult> list = alice->List(Cm("kube-system"));
  ASSERT_TRUE(list.ok()) << list.status().ToString();

  auto viewer = ClientFor("viewer");
  ASSERT_TRUE(viewer->List(Cm()).ok());
  Result<json> denied = viewer->Create(Cm(), ConfigMap("nope", "1"));
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(denied.status().reason(), "Forbidden");

  auto bad = ClientFromYaml(KubeconfigWithUser("{token: not-a-real-token}"));
  Result<ListResult> unauth = bad->List(Cm());
  EXPECT_EQ(unauth.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(unauth.status().reason(), "Unauthorized");
}

TEST_F(ClientIntegrationTest, TlsIsVerifiedUnlessInsecure) {
  std::string token = "{token: " + emulator_->token("admin") + "}";
  // No CA: the emulator's self-made CA is not in the system store.
  auto untrusted = ClientFromYaml(KubeconfigWithUser(token, "tls-server-name: localhost"));
  Result<ListResult> r = untrusted->List(Cm());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  auto insecure = ClientFromYaml(KubeconfigWithUser(token, "insecure-skip-tls-verify: true"));
  EXPECT_TRUE(insecure->List(Cm()).ok());
  // tls-server-name: verify the certificate for that name while connecting to 127.0.0.1.
  std::string ca = "certificate-authority-data: " + B64(emulator_->ca_pem());
  auto named = ClientFromYaml(KubeconfigWithUser(token, ca + ", tls-server-name: localhost"));
  Result<ListResult> ok = named->List(Cm());
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  auto wrong_name =
      ClientFromYaml(KubeconfigWithUser(token, ca + ", tls-server-name: not-in-the-cert.example"));
  EXPECT_EQ(wrong_name->List(Cm()).status().code(), Code::kFailedPrecondition);
}

TEST_F(ClientIntegrationTest, ProxyUrlIsUsed) {
  // A proxy that is not there: the request must go to it (and fail before sending), not
  // straight to the emulator.
  int dead_port = testsupport::FreePort();
  std::string cluster = "certificate-authority-data: " + B64(emulator_->ca_pem()) +
                        ", proxy-url: \"http://127.0.0.1:" + std::to_string(dead_port) + "\"";
  ClientOptions o;
  o.max_retries = 0;
  auto client = ClientFromYaml(KubeconfigWithUser("{token: " + emulator_->token("admin") + "}", cluster), o);
  Result<ListResult> r = client->List(Cm());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_EQ(r.status().reason(), kReasonNotSent);
}

TEST_F(ClientIntegrationTest, TokenFileIsReadAndRereadAfter401) {
  TempDir dir;
  WriteFile(dir.path() / "token", "wrong-token\n");
  ClientOptions o;
  o.max_retries = 0;
  auto client = ClientFromYaml(KubeconfigWithUser("{tokenFile: " + (dir.path() / "token").string() + "}"), o);
  EXPECT_EQ(client->List(Cm()).status().code(), Code::kUnauthenticated);
  WriteFile(dir.path() / "token", emulator_->token("admin") + "\n");
  // The 401 makes the transport re-read the file once and repeat the request.
  Result<ListResult> ok = client->List(Cm());
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST_F(ClientIntegrationTest, ExecPluginTokenIsCachedAndRerunOn401) {
  TempDir dir;
  // First run prints a bad token, later runs the real one: the 401 must trigger a re-run.
  std::string plugin = (dir.path() / "plugin.sh").string();
  WriteFile(plugin,
            "#!/bin/sh\n"
            "d=$(dirname \"$0\")\n"
            "echo run >> \"$d/runs\"\n"
            "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/info\"\n"
            "if [ $(wc -l < \"$d/runs\") -eq 1 ]; then t=stale; else t=$(cat \"$d/good\"); fi\n"
            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' \"$t\"\n");
  chmod(plugin.c_str(), 0755);
  WriteFile(dir.path() / "good", emulator_->token("admin"));
  auto client = ClientFromYaml(
      KubeconfigWithUser("{exec: {apiVersion: client.authentication.k8s.io/v1, command: " + plugin +
                         ", provideClusterInfo: true, interactiveMode: Never}}"));
  ASSERT_TRUE(client->List(Cm()).ok());
  ASSERT_TRUE(client->List(Cm()).ok());
  std::string runs = testsupport::ReadFile(dir.path() / "runs");
  EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 2) << "one bad run, one good run, then cached";
  json info = json::parse(testsupport::ReadFile(dir.path() / "info"));
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], emulator_->url());
}

TEST_F(ClientIntegrationTest, ExecPluginClientCertificate) {
  // The plugin hands out alice's client certificate (v1beta1 ExecCredential).
  Result<Kubeconfig> alice = Kubeconfig::LoadFile(emulator_->kubeconfig_path("alice"));
  ASSERT_TRUE(alice.ok());
  RestConfig alice_rc = *alice->ToRestConfig();
  ASSERT_FALSE(alice_rc.tls.client_cert_pem.empty());
  TempDir dir;
  json cred = {{"apiVersion", "client.authentication.k8s.io/v1beta1"},
               {"kind", "ExecCredential"},
               {"status",
                {{"clientCertificateData", alice_rc.tls.client_cert_pem},
                 {"clientKeyData", alice_rc.tls.client_key_pem}}}};
  WriteFile(dir.path() / "cred.json", cred.dump());
  std::string plugin = (dir.path() / "plugin.sh").string();
  WriteFile(plugin, "#!/bin/sh\ncat \"$(dirname \"$0\")/cred.json\"\n");
  chmod(plugin.c_str(), 0755);
  auto client = ClientFromYaml(KubeconfigWithUser(
      "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: " + plugin + "}}"));
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  Result<ListResult> list = client->List(Cm("kube-system"));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  auto counters = emulator_->Counters();
  ASSERT_TRUE(counters.ok());
  bool by_alice = false;
  for (const auto& c : *counters) {
    by_alice = by_alice || (c.user == "alice" && c.verb == "list");
  }
  EXPECT_TRUE(by_alice) << "the request was authenticated by the exec-provided certificate";
}

TEST_F(ClientIntegrationTest, RetriesInjectedFaultsWithoutDuplicatingCreates) {
  ClientOptions o;
  o.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(50), 2.0, 0.0};
  o.max_retry_after = std::chrono::seconds(0);  // keep the test fast; Retry-After is unit-tested
  auto client = ClientFor("admin", o);
  ASSERT_TRUE(emulator_->ResetCounters().ok());
  ASSERT_TRUE(
      emulator_->AddFault({.verb = "create", .resource = "configmaps", .count = 2, .code = 429}).ok());
  ASSERT_TRUE(client->Create(Cm(), ConfigMap("faulty", "1")).ok());
  EXPECT_EQ(*emulator_->CountRequests("create", "configmaps"), 3);

  ASSERT_TRUE(
      emulator_->AddFault({.verb = "create", .resource = "configmaps", .count = 1, .code = 500}).ok());
  Result<json> r = client->Create(Cm(), ConfigMap("faulty2", "1"));
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().reason(), "InternalError");
  EXPECT_EQ(*emulator_->CountRequests("create", "configmaps"), 4) << "a 500 create is not repeated";

  ASSERT_TRUE(emulator_->AddFault({.verb = "get", .resource = "configmaps", .count = 2, .code = 503}).ok());
  EXPECT_TRUE(client->Get(Cm("default", "faulty")).ok());
  ASSERT_TRUE(
      emulator_->AddFault({.verb = "update", .resource = "configmaps", .count = 1, .code = 500}).ok());
  json obj = *client->Get(Cm("default", "faulty"));
  obj["data"]["v"] = "2";
  EXPECT_TRUE(client->Update(Cm("default", "faulty"), obj).ok());
}

TEST_F(ClientIntegrationTest, WatchStreamsEventsAndCancelsPromptly) {
  auto client = ClientFor("admin");
  ResourceRef ns{"", "v1", "namespaces", "", "", ""};
  ASSERT_TRUE(client->Create(ns, {{"metadata", {{"name", "watching"}}}}).ok());
  Result<ListResult> list = client->List(Cm("watching"));
  ASSERT_TRUE(list.ok());
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::vector<WatchEvent> events;
  std::thread watcher([&] {
    WatchOptions wo;
    wo.resource_version = list->resource_version;
    Status s = client->Watch(
        Cm("watching"), wo,
        [&](WatchEvent&& e) {
          std::lock_guard<std::mutex> lock(mu);
          events.push_back(std::move(e));
          return true;
        },
        &cancel);
    EXPECT_EQ(s.code(), Code::kCancelled) << s.ToString();
  });
  ASSERT_TRUE(testsupport::WaitFor([&] { return *emulator_->CountRequests("watch", "configmaps") > 0; }));
  ASSERT_TRUE(client->Create(Cm("watching"), ConfigMap("w", "1")).ok());
  ASSERT_TRUE(client->Delete(Cm("watching", "w")).ok());
  ASSERT_TRUE(testsupport::WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return std::count_if(events.begin(), events.end(),
                         [](const WatchEvent& e) { return e.type != WatchEventType::kBookmark; }) >= 2;
  }));
  auto start = std::chrono::steady_clock::now();
  cancel = true;
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  std::vector<WatchEventType> types;
  for (const auto& e : events) {
    if (e.type != WatchEventType::kBookmark) {
      types.push_back(e.type);
    }
  }
  EXPECT_EQ(types, (std::vector<WatchEventType>{WatchEventType::kAdded, WatchEventType::kDeleted}));
}

}  // namespace
}  // namespace kubesync::kube
