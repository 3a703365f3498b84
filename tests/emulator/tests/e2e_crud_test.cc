// End-to-end: the binary over HTTP, one KUBE_API.md rule per test.
#include "e2e_util.h"

namespace kubesync::emulator::testing {
namespace {

constexpr char kCms[] = "/api/v1/namespaces/default/configmaps";

class CrudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = StartEmulator(PlainOptions());
    ASSERT_NE(emu_, nullptr);
  }
  Reply Req(const std::string& m, const std::string& p, const std::optional<nlohmann::json>& b = std::nullopt,
            const std::string& ct = "application/json") {
    return Must(emu_->Request(m, p, b, ct));
  }
  std::unique_ptr<Emulator> emu_;
};

TEST_F(CrudTest, CreateSetsServerFieldsAndConflictsOnDuplicate) {
  Reply r = Req("POST", kCms, ConfigMap("a"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto& md = r.body["metadata"];
  EXPECT_EQ(md["namespace"], "default");
  EXPECT_EQ(md["uid"].get<std::string>().size(), 36u);
  EXPECT_FALSE(md["creationTimestamp"].get<std::string>().empty());
  EXPECT_FALSE(md["resourceVersion"].get<std::string>().empty());
  EXPECT_FALSE(md.contains("generation"));
  EXPECT_EQ(md["managedFields"][0]["operation"], "Update");
  r = Req("POST", kCms, ConfigMap("a"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["reason"], "AlreadyExists");
  EXPECT_EQ(r.body["details"]["kind"], "configmaps");
  EXPECT_EQ(r.body["message"], "configmaps \"a\" already exists");
}

TEST_F(CrudTest, CreateRejectsResourceVersionAndNamespaceMismatch) {
  auto cm = ConfigMap("b");
  cm["metadata"]["resourceVersion"] = "12";
  Reply r = Req("POST", kCms, cm);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body["message"].get<std::string>().find("resourceVersion should not be set"),
            std::string::npos);
  cm = ConfigMap("b");
  cm["metadata"]["namespace"] = "other";
  r = Req("POST", kCms, cm);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["reason"], "BadRequest");
  EXPECT_EQ(Req("GET", std::string(kCms) + "/b").status, 404);
}

TEST_F(CrudTest, GenerateNameAndInvalidName) {
  Reply r = Req("POST", kCms, nlohmann::json{{"metadata", {{"generateName", "gen-"}}}});
  ASSERT_EQ(r.status, 201);
  const std::string name = r.body["metadata"]["name"];
  EXPECT_EQ(name.size(), 9u);
  EXPECT_EQ(name.rfind("gen-", 0), 0u);
  r = Req("POST", kCms, ConfigMap("Bad_Name"));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["reason"], "Invalid");
  EXPECT_EQ(r.body["details"]["kind"], "ConfigMap");
  EXPECT_EQ(r.body["details"]["causes"][0]["field"], "metadata.name");
}

TEST_F(CrudTest, GetMissingIsNotFoundStatus) {
  Reply r = Req("GET", std::string(kCms) + "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["kind"], "Status");
  EXPECT_EQ(r.body["reason"], "NotFound");
  EXPECT_EQ(r.body["message"], "configmaps \"nope\" not found");
  EXPECT_EQ(r.body["details"]["name"], "nope");
  r = Req("GET", "/apis/nope.example.com/v1/things");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["message"], "the server could not find the requested resource");
}

TEST_F(CrudTest, UpdateChecksResourceVersionAndNoOpBumpsNothing) {
  Reply created = Req("POST", kCms, ConfigMap("u"));
  auto obj = created.body;
  obj["data"]["k"] = "v2";
  Reply r = Req("PUT", std::string(kCms) + "/u", obj);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string rv2 = r.body["metadata"]["resourceVersion"];
  EXPECT_NE(rv2, created.body["metadata"]["resourceVersion"]);
  // Stale RV -> 409 Conflict.
  r = Req("PUT", std::string(kCms) + "/u", obj);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["reason"], "Conflict");
  EXPECT_NE(r.body["message"].get<std::string>().find("the object has been modified"), std::string::npos);
  // Empty RV -> unconditional for built-ins.
  obj["metadata"].erase("resourceVersion");
  obj["data"]["k"] = "v3";
  r = Req("PUT", std::string(kCms) + "/u", obj);
  ASSERT_EQ(r.status, 200);
  const std::string rv3 = r.body["metadata"]["resourceVersion"];
  // Same content again: no bump.
  r = Req("PUT", std::string(kCms) + "/u", obj);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["metadata"]["resourceVersion"], rv3);
  r = Req("PUT", std::string(kCms) + "/missing", ConfigMap("missing"));
  EXPECT_EQ(r.status, 404);
}

TEST_F(CrudTest, GenerationAndStatusSubresource) {
  const std::string deps = "/apis/apps/v1/namespaces/default/deployments";
  nlohmann::json d = {{"metadata", {{"name", "d"}}},
                      {"spec",
                       {{"replicas", 1},
                        {"selector", {{"matchLabels", {{"app", "d"}}}}},
                        {"template",
                         {{"metadata", {{"labels", {{"app", "d"}}}}},
                          {"spec", {{"containers", {{{"name", "c"}, {"image", "i:1"}}}}}}}}}},
                      {"status", {{"replicas", 7}}}};
  Reply r = Req("POST", deps, d);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body["metadata"]["generation"], 1);
  EXPECT_EQ(r.body["status"], nlohmann::json::object());
  // Metadata-only change keeps generation.
  r = Req("PATCH", deps + "/d", nlohmann::json{{"metadata", {{"labels", {{"x", "y"}}}}}},
          "application/merge-patch+json");
  EXPECT_EQ(r.body["metadata"]["generation"], 1);
  // Spec change bumps it.
  r = Req("PATCH", deps + "/d", nlohmann::json{{"spec", {{"replicas", 3}}}}, "application/merge-patch+json");
  EXPECT_EQ(r.body["metadata"]["generation"], 2);
  // Status through the main resource is ignored; through /status it is the only change.
  r = Req("PATCH", deps + "/d", nlohmann::json{{"status", {{"replicas", 9}}}},
          "application/merge-patch+json");
  EXPECT_EQ(r.body["status"], nlohmann::json::object());
  r = Req("PATCH", deps + "/d/status",
          nlohmann::json{{"status", {{"replicas", 9}}}, {"spec", {{"replicas", 5}}}},
          "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["status"]["replicas"], 9);
  EXPECT_EQ(r.body["spec"]["replicas"], 3);
  EXPECT_EQ(r.body["metadata"]["generation"], 2);
}

TEST_F(CrudTest, ScaleSubresource) {
  const std::string deps = "/apis/apps/v1/namespaces/default/deployments";
  Reply r = Req("POST", deps,
                nlohmann::json{{"metadata", {{"name", "s"}}},
                               {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "s"}}}}}}}});
  ASSERT_EQ(r.status, 201);
  r = Req("GET", deps + "/s/scale");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["kind"], "Scale");
  EXPECT_EQ(r.body["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(r.body["spec"]["replicas"], 2);
  EXPECT_EQ(r.body["status"]["selector"], "app=s");
  r = Req("PATCH", deps + "/s/scale", nlohmann::json{{"spec", {{"replicas", 4}}}},
          "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["spec"]["replicas"], 4);
  r = Req("GET", deps + "/s");
  EXPECT_EQ(r.body["spec"]["replicas"], 4);
  EXPECT_EQ(r.body["metadata"]["generation"], 2);
  EXPECT_EQ(Req("GET", "/api/v1/namespaces/default/configmaps/x/scale").status, 404);
}

TEST_F(CrudTest, PatchFlavours) {
  Req("POST", kCms, ConfigMap("p"));
  const std::string item = std::string(kCms) + "/p";
  Reply r = Req("PATCH", item, nlohmann::json::array({{{"op", "add"}, {"path", "/data/j"}, {"value", "1"}}}),
                "application/json-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["data"]["j"], "1");
  r = Req("PATCH", item, nlohmann::json::array({{{"op", "test"}, {"path", "/data/j"}, {"value", "2"}}}),
          "application/json-patch+json");
  EXPECT_EQ(r.status, 422);
  r = Req("PATCH", item, nlohmann::json{{"data", {{"k", nullptr}}}},
          "application/strategic-merge-patch+json");
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.body["data"].contains("k"));
  r = Req("PATCH", item, nlohmann::json{{"metadata", {{"resourceVersion", "1"}}}},
          "application/merge-patch+json");
  EXPECT_EQ(r.status, 409);
  r = Req("PATCH", item, nlohmann::json{{"data", {{"k", "x"}}}}, "text/plain");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.body["reason"], "UnsupportedMediaType");
  // Server-side apply creates, then a second manager conflicts.
  auto applied = Must(emu_->Request("PATCH", std::string(kCms) + "/ssa?fieldManager=one", ConfigMap("ssa"),
                                    "application/apply-patch+yaml"));
  EXPECT_EQ(applied.status, 201) << applied.body;
  auto other = ConfigMap("ssa");
  other["data"]["k"] = "mine";
  r = Req("PATCH", std::string(kCms) + "/ssa?fieldManager=two", other, "application/apply-patch+yaml");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["reason"], "Conflict");
  r = Req("PATCH", std::string(kCms) + "/ssa?fieldManager=two&force=true", other,
          "application/apply-patch+yaml");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["data"]["k"], "mine");
  EXPECT_EQ(
      Req("PATCH", std::string(kCms) + "/nothere", nlohmann::json::object(), "application/merge-patch+json")
          .status,
      404);
}

TEST_F(CrudTest, PagingIsOneConsistentSnapshot) {
  for (int i = 0; i < 25; ++i)
    ASSERT_EQ(Req("POST", kCms, ConfigMap("c" + std::to_string(100 + i))).status, 201);
  Reply page = Req("GET", std::string(kCms) + "?limit=10");
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.body["items"].size(), 10u);
  EXPECT_FALSE(page.body["items"][0].contains("kind"));
  const std::string rv = page.body["metadata"]["resourceVersion"];
  std::vector<std::string> names;
  for (const auto& i : page.body["items"]) names.push_back(i["metadata"]["name"]);
  // Changes after the first page do not show up in later pages.
  Req("DELETE", std::string(kCms) + "/c124");
  Req("POST", kCms, ConfigMap("c200"));
  std::string token = page.body["metadata"]["continue"];
  while (!token.empty()) {
    page = Req("GET", std::string(kCms) + "?limit=10&continue=" + token);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.body["metadata"]["resourceVersion"], rv);
    for (const auto& i : page.body["items"]) names.push_back(i["metadata"]["name"]);
    token = page.body["metadata"].value("continue", "");
  }
  ASSERT_EQ(names.size(), 25u);
  EXPECT_EQ(names.back(), "c124");
  // resourceVersion=0 is served from the "cache": whole, limit ignored, no continue.
  page = Req("GET", std::string(kCms) + "?limit=10&resourceVersion=0");
  EXPECT_EQ(page.body["items"].size(), 25u);
  EXPECT_FALSE(page.body["metadata"].contains("continue"));
  // A token from before a compaction has expired (etcd keeps the compaction revision
  // itself, so the write must come first for the token to be older).
  page = Req("GET", std::string(kCms) + "?limit=10");
  Req("POST", kCms, ConfigMap("c201"));
  ASSERT_TRUE(emu_->Compact().ok());
  Reply r = Req("GET", std::string(kCms) +
                           "?limit=10&continue=" + page.body["metadata"]["continue"].get<std::string>());
  EXPECT_EQ(r.status, 410);
  EXPECT_EQ(r.body["reason"], "Expired");
}

TEST_F(CrudTest, LabelAndFieldSelectors) {
  Req("POST", kCms, ConfigMap("l1", {{"app", "a"}, {"tier", "x"}}));
  Req("POST", kCms, ConfigMap("l2", {{"app", "b"}}));
  Req("POST", kCms, ConfigMap("l3"));
  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    Reply r = Req("GET", std::string(kCms) + "?" + query);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    for (const auto& i : r.body["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  };
  EXPECT_EQ(names("labelSelector=app%3Da"), std::vector<std::string>({"l1"}));
  EXPECT_EQ(names("labelSelector=app%21%3Da"), std::vector<std::string>({"l2", "l3"}));
  EXPECT_EQ(names("labelSelector=app+in+(a,b),!tier"), std::vector<std::string>({"l2"}));
  EXPECT_EQ(names("fieldSelector=metadata.name%3Dl3"), std::vector<std::string>({"l3"}));
  Reply r = Req("GET", std::string(kCms) + "?labelSelector=app+in+(a");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["reason"], "BadRequest");
  r = Req("GET", std::string(kCms) + "?fieldSelector=spec.foo%3Dx");
  EXPECT_EQ(r.status, 400);
  // All namespaces.
  r = Req("GET", "/api/v1/configmaps?labelSelector=app");
  EXPECT_EQ(r.body["items"].size(), 2u);
  EXPECT_EQ(r.body["kind"], "ConfigMapList");
}

TEST_F(CrudTest, NamespaceLifecycle) {
  Reply r = Req("POST", "/api/v1/namespaces/nope/configmaps", ConfigMap("x"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["details"]["kind"], "namespaces");
  EXPECT_EQ(r.body["message"], "namespaces \"nope\" not found");
  r = Req("DELETE", "/api/v1/namespaces/default");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["reason"], "Forbidden");
  r = Req("POST", "/api/v1/namespaces", nlohmann::json{{"metadata", {{"name", "t"}}}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.body["spec"]["finalizers"][0], "kubernetes");
  EXPECT_EQ(r.body["status"]["phase"], "Active");
  EXPECT_EQ(r.body["metadata"]["labels"]["kubernetes.io/metadata.name"], "t");
  auto held = ConfigMap("held");
  held["metadata"]["finalizers"] = {"example.com/hold"};
  ASSERT_EQ(Req("POST", "/api/v1/namespaces/t/configmaps", held).status, 201);
  ASSERT_EQ(Req("POST", "/api/v1/namespaces/t/configmaps", ConfigMap("free")).status, 201);
  r = Req("DELETE", "/api/v1/namespaces/t");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"]["phase"], "Terminating");
  EXPECT_TRUE(r.body["metadata"].contains("deletionTimestamp"));
  r = Req("POST", "/api/v1/namespaces/t/configmaps", ConfigMap("late"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["details"]["causes"][0]["reason"], "NamespaceTerminating");
  EXPECT_TRUE(
      testsupport::WaitFor([&] { return Req("GET", "/api/v1/namespaces/t/configmaps/free").status == 404; }));
  EXPECT_EQ(Req("GET", "/api/v1/namespaces/t").status, 200);
  r = Req("PATCH", "/api/v1/namespaces/t/configmaps/held",
          nlohmann::json{{"metadata", {{"finalizers", nullptr}}}}, "application/merge-patch+json");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(testsupport::WaitFor([&] { return Req("GET", "/api/v1/namespaces/t").status == 404; }));
}

TEST_F(CrudTest, DeleteWithFinalizersPreconditionsAndDryRun) {
  auto cm = ConfigMap("f");
  cm["metadata"]["finalizers"] = {"example.com/x"};
  Reply created = Req("POST", kCms, cm);
  Reply r = Req("DELETE", std::string(kCms) + "/f",
                nlohmann::json{{"preconditions", {{"uid", "00000000-0000-0000-0000-000000000000"}}}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["reason"], "Conflict");
  r = Req("DELETE", std::string(kCms) + "/f");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["kind"], "ConfigMap");
  EXPECT_TRUE(r.body["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(Req("GET", std::string(kCms) + "/f").status, 200);
  r = Req("PATCH", std::string(kCms) + "/f", nlohmann::json{{"metadata", {{"finalizers", nullptr}}}},
          "application/merge-patch+json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Req("GET", std::string(kCms) + "/f").status, 404);
  // Plain delete answers a Status; dry run stores nothing.
  ASSERT_EQ(Req("POST", std::string(kCms) + "?dryRun=All", ConfigMap("dry")).status, 201);
  EXPECT_EQ(Req("GET", std::string(kCms) + "/dry").status, 404);
  created = Req("POST", kCms, ConfigMap("g"));
  ASSERT_EQ(Req("DELETE", std::string(kCms) + "/g?dryRun=All").status, 200);
  EXPECT_EQ(Req("GET", std::string(kCms) + "/g").status, 200);
  r = Req("DELETE", std::string(kCms) + "/g");
  EXPECT_EQ(r.body["kind"], "Status");
  EXPECT_EQ(r.body["status"], "Success");
  EXPECT_EQ(r.body["details"]["kind"], "configmaps");
  EXPECT_EQ(r.body["details"]["uid"], created.body["metadata"]["uid"]);
  EXPECT_EQ(Req("DELETE", std::string(kCms) + "/g").status, 404);
}

TEST_F(CrudTest, DeleteCollection) {
  Req("POST", kCms, ConfigMap("d1", {{"x", "1"}}));
  Req("POST", kCms, ConfigMap("d2", {{"x", "1"}}));
  Req("POST", kCms, ConfigMap("d3"));
  Reply r = Req("DELETE", std::string(kCms) + "?labelSelector=x%3D1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["items"].size(), 2u);
  r = Req("GET", kCms);
  ASSERT_EQ(r.body["items"].size(), 1u);
  EXPECT_EQ(r.body["items"][0]["metadata"]["name"], "d3");
}

TEST_F(CrudTest, CustomResourceDefinitions) {
  const std::string crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  nlohmann::json crd = {{"metadata", {{"name", "widgets.example.com"}}},
                        {"spec",
                         {{"group", "example.com"},
                          {"scope", "Namespaced"},
                          {"names", {{"plural", "widgets"}, {"kind", "Widget"}}},
                          {"versions",
                           {{{"name", "v1"},
                             {"served", true},
                             {"storage", true},
                             {"subresources", {{"status", nlohmann::json::object()}}}}}}}}};
  auto bad = crd;
  bad["metadata"]["name"] = "wrong.example.com";
  Reply r = Req("POST", crds, bad);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["details"]["kind"], "CustomResourceDefinition");
  EXPECT_EQ(r.body["details"]["group"], "apiextensions.k8s.io");
  EXPECT_EQ(Req("GET", "/apis/example.com/v1/namespaces/default/widgets").status, 404);
  r = Req("POST", crds, crd);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body["status"]["acceptedNames"]["singular"], "widget");
  EXPECT_EQ(r.body["status"]["acceptedNames"]["listKind"], "WidgetList");
  EXPECT_EQ(r.body["status"]["conditions"][1]["type"], "Established");
  EXPECT_EQ(r.body["status"]["storedVersions"][0], "v1");
  r = Req("GET", "/apis/example.com/v1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["resources"][0]["name"], "widgets");
  EXPECT_EQ(r.body["resources"][1]["name"], "widgets/status");
  const std::string ws = "/apis/example.com/v1/namespaces/default/widgets";
  r = Req("POST", ws,
          nlohmann::json{{"apiVersion", "example.com/v1"},
                         {"kind", "Widget"},
                         {"metadata", {{"name", "w"}}},
                         {"spec", {{"a", 1}}},
                         {"status", {{"s", 1}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body["metadata"]["generation"], 1);
  EXPECT_FALSE(r.body.contains("status"));
  auto w = r.body;
  w["metadata"].erase("resourceVersion");
  r = Req("PUT", ws + "/w", w);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["details"]["causes"][0]["field"], "metadata.resourceVersion");
  r = Req("PATCH", ws + "/w", nlohmann::json{{"spec", {{"a", 2}}}}, "application/strategic-merge-patch+json");
  EXPECT_EQ(r.status, 415);
  r = Req("PATCH", ws + "/w/status", nlohmann::json{{"status", {{"s", 2}}}}, "application/merge-patch+json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["metadata"]["generation"], 1);
  EXPECT_EQ(r.body["status"]["s"], 2);
  r = Req("GET", ws);
  EXPECT_EQ(r.body["items"][0]["kind"], "Widget");  // custom resource lists keep kind
  r = Req("DELETE", crds + "/widgets.example.com");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Req("GET", ws).status, 404);
  EXPECT_EQ(Req("GET", "/apis/example.com/v1").status, 404);
  r = Req("POST", crds, crd);
  ASSERT_EQ(r.status, 201);
  r = Req("GET", ws);
  EXPECT_EQ(r.body["items"].size(), 0u);
}

TEST_F(CrudTest, Discovery) {
  Reply r = Req("GET", "/api");
  EXPECT_EQ(r.body["kind"], "APIVersions");
  EXPECT_EQ(r.body["versions"][0], "v1");
  r = Req("GET", "/apis");
  EXPECT_EQ(r.body["kind"], "APIGroupList");
  bool autoscaling_v1 = false;
  for (const auto& g : r.body["groups"]) {
    if (g["name"] == "autoscaling") {
      EXPECT_EQ(g["preferredVersion"]["version"], "v2");
      for (const auto& v : g["versions"]) autoscaling_v1 |= v["version"] == "v1";
    }
  }
  EXPECT_TRUE(autoscaling_v1);
  r = Req("GET", "/apis/apps/v1");
  EXPECT_EQ(r.body["groupVersion"], "apps/v1");
  bool scale = false;
  for (const auto& res : r.body["resources"]) {
    if (res["name"] == "deployments/scale") scale = res["kind"] == "Scale";
    if (res["name"] == "deployments") {
      EXPECT_EQ(res["shortNames"][0], "deploy");
    }
  }
  EXPECT_TRUE(scale);
  r = Req("GET", "/api/v1");
  EXPECT_FALSE(r.body.contains("apiVersion"));
  r = Req("GET", "/openapi/v3");
  const std::string url = r.body["paths"]["apis/apps/v1"]["serverRelativeURL"];
  r = Req("GET", url);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
                  ["x-kubernetes-group-version-kind"]["kind"],
            "Deployment");
  EXPECT_EQ(Req("GET", "/version").body["major"], "1");
}

TEST_F(CrudTest, FaultsAndCounters) {
  ASSERT_TRUE(emu_->AddFault({"create", "configmaps", 2, 429, 3, 0}).ok());
  Reply r = Req("POST", kCms, ConfigMap("x"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["reason"], "TooManyRequests");
  EXPECT_EQ(r.body["details"]["retryAfterSeconds"], 3);
  httplib::Client cli("127.0.0.1", emu_->port());
  auto raw = cli.Post(kCms, ConfigMap("x").dump(), "application/json");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 429);
  EXPECT_EQ(raw->get_header_value("Retry-After"), "3");
  EXPECT_EQ(Req("POST", kCms, ConfigMap("x")).status, 201);
  ASSERT_TRUE(emu_->AddFault({"*", "*", 1, 503, 1, 0}).ok());
  r = Req("GET", std::string(kCms) + "/x");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["reason"], "ServiceUnavailable");
  ASSERT_TRUE(emu_->AddFault({"get", "*", 5, 500, 1, 0}).ok());
  ASSERT_TRUE(emu_->ClearFaults().ok());
  EXPECT_EQ(Req("GET", std::string(kCms) + "/x").status, 200);
  EXPECT_EQ(*emu_->CountRequests("create", "configmaps"), 3);
  EXPECT_EQ(*emu_->CountRequests("get", "configmaps"), 2);
  ASSERT_TRUE(emu_->ResetCounters().ok());
  Req("GET", "/api/v1");
  EXPECT_EQ(*emu_->CountRequests("*", "*"), 0);
}

TEST_F(CrudTest, HealthEndpoints) {
  httplib::Client cli("127.0.0.1", emu_->port());
  for (const char* p : {"/healthz", "/livez", "/readyz"}) {
    auto r = cli.Get(p);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok");
  }
}

TEST(PersistenceTest, RestartKeepsObjectsAndResourceVersion) {
  testsupport::TempDir dir;
  auto options = PlainOptions();
  options.data_dir = dir.path() / "data";
  auto emu = StartEmulator(options);
  ASSERT_NE(emu, nullptr);
  ASSERT_EQ(Must(emu->Request("POST", kCms, ConfigMap("keep"))).status, 201);
  Must(emu->Request("POST", kCms, ConfigMap("gone")));
  Must(emu->Request("DELETE", std::string(kCms) + "/gone"));
  const std::string rv = Must(emu->Request("GET", kCms)).body["metadata"]["resourceVersion"];
  ASSERT_TRUE(emu->Restart().ok());
  Reply r = Must(emu->Request("GET", kCms));
  EXPECT_EQ(r.body["metadata"]["resourceVersion"], rv);
  ASSERT_EQ(r.body["items"].size(), 1u);
  EXPECT_EQ(r.body["items"][0]["metadata"]["name"], "keep");
  // Acknowledged writes survive SIGKILL too.
  ASSERT_EQ(Must(emu->Request("POST", kCms, ConfigMap("after"))).status, 201);
  ASSERT_TRUE(emu->KillAndRestart().ok());
  EXPECT_EQ(Must(emu->Request("GET", std::string(kCms) + "/after")).status, 200);
  r = Must(emu->Request("POST", kCms, ConfigMap("next")));
  EXPECT_GT(std::stoull(r.body["metadata"]["resourceVersion"].get<std::string>()), std::stoull(rv));
}

}  // namespace
}  // namespace kubesync::emulator::testing

namespace kubesync::emulator::testing {
namespace {

TEST(ShapeTest, SecretsFoldStringDataAndBadShapesAre400) {
  auto emu = StartEmulator(PlainOptions());
  ASSERT_NE(emu, nullptr);
  const std::string secrets = "/api/v1/namespaces/default/secrets";
  Reply r = Must(emu->Request(
      "POST", secrets, nlohmann::json{{"metadata", {{"name", "s"}}}, {"stringData", {{"user", "admin"}}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body["data"]["user"], "YWRtaW4=");
  EXPECT_FALSE(r.body.contains("stringData"));
  EXPECT_EQ(r.body["type"], "Opaque");
  r = Must(emu->Request("POST", "/api/v1/namespaces/default/configmaps",
                        nlohmann::json{{"metadata", {{"name", "x"}, {"labels", {{"a", 1}}}}}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["reason"], "BadRequest");
  r = Must(emu->Request("POST", "/api/v1/namespaces/default/configmaps",
                        nlohmann::json{{"metadata", {{"name", 5}}}}));
  EXPECT_EQ(r.status, 400);
  r = Must(emu->Request("POST", "/api/v1/namespaces/default/configmaps", nlohmann::json::array({1, 2})));
  EXPECT_EQ(r.status, 400);
  // Still serving.
  EXPECT_EQ(Must(emu->Request("GET", "/api/v1/namespaces/default/configmaps")).status, 200);
}

}  // namespace
}  // namespace kubesync::emulator::testing
