// End-to-end: kubesync's CRDs (charts/kubesync/crds) served by the binary: schema
// validation, pruning and defaulting on every write path, fieldValidation, server-side
// Tables, and field selectors on core/v1 events.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "e2e_util.h"
#include "util.h"

namespace kubesync::emulator::testing {
namespace {

constexpr char kTaskRuns[] = "/apis/automation.astronetes.io/v1alpha1/namespaces/default/taskruns";
constexpr char kLiveSyncs[] =
    "/apis/automation.astronetes.io/v1alpha1/namespaces/default/livesynchronizations";
constexpr char kTableAccept[] =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json";

nlohmann::json TaskRun(const std::string& name, nlohmann::json spec) {
  return {{"apiVersion", "automation.astronetes.io/v1alpha1"},
          {"kind", "TaskRun"},
          {"metadata", {{"name", name}}},
          {"spec", std::move(spec)}};
}

nlohmann::json LiveSync(const std::string& name) {
  return {{"apiVersion", "automation.astronetes.io/v1alpha1"},
          {"kind", "LiveSynchronization"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"plugin", "kubernetes-objects-to-kubernetes"},
            {"config", {{"sourceName", "src"}, {"destinationName", "dst"}, {"free", {1, 2}}}}}}};
}

class CrdSchemaE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = StartEmulator(PlainOptions());
    ASSERT_NE(emu_, nullptr);
    int created = 0;
    for (const auto& entry : std::filesystem::directory_iterator(KUBESYNC_CRD_DIR)) {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      std::string err;
      auto crd = YamlToJson(text.str(), &err);
      ASSERT_TRUE(crd.has_value()) << entry.path() << ": " << err;
      Reply r = Req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", *crd);
      ASSERT_EQ(r.status, 201) << entry.path() << ": " << r.body.dump();
      ++created;
    }
    ASSERT_EQ(created, 9);
  }
  Reply Req(const std::string& m, const std::string& p, const std::optional<nlohmann::json>& b = std::nullopt,
            const std::string& ct = "application/json") {
    return Must(emu_->Request(m, p, b, ct));
  }
  httplib::Client Client() { return httplib::Client("127.0.0.1", emu_->port()); }
  std::unique_ptr<Emulator> emu_;
};

TEST_F(CrdSchemaE2eTest, CreateValidatesDefaultsAndPrunes) {
  Reply r = Req("POST", kTaskRuns, TaskRun("no-task", nlohmann::json::object()));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["reason"], "Invalid");
  EXPECT_EQ(r.body["message"],
            "TaskRun.automation.astronetes.io \"no-task\" is invalid: spec.taskName: Required value");
  EXPECT_EQ(r.body["details"]["causes"],
            nlohmann::json::parse(
                R"([{"reason":"FieldValueRequired","message":"Required value","field":"spec.taskName"}])"));
  EXPECT_EQ(Req("GET", std::string(kTaskRuns) + "/no-task").status, 404);

  r = Req("POST", kTaskRuns, TaskRun("run", {{"taskName", "t"}, {"extra", 1}}));
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(r.body["spec"], nlohmann::json({{"taskName", "t"}, {"suspendLiveSynchronization", false}}));

  auto ls = LiveSync("bad");
  ls["spec"]["suspend"] = "yes";
  r = Req("POST", kLiveSyncs, ls);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["message"],
            "LiveSynchronization.automation.astronetes.io \"bad\" is invalid: spec.suspend: Invalid value: "
            "\"yes\": "
            "spec.suspend in body must be of type boolean: \"string\"");
  EXPECT_EQ(r.body["details"]["causes"][0]["reason"], "FieldValueTypeInvalid");
}

TEST_F(CrdSchemaE2eTest, FieldValidationStrictWarnIgnore) {
  auto cli = Client();
  const std::string body = TaskRun("strict", {{"taskName", "t"}, {"taskNmae", "t"}}).dump();
  auto res = cli.Post((std::string(kTaskRuns) + "?fieldValidation=Strict").c_str(), body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["reason"], "BadRequest");
  EXPECT_EQ(
      j["message"],
      "TaskRun in version \"v1alpha1\" cannot be handled as a TaskRun: strict decoding error: unknown field "
      "\"spec.taskNmae\"");

  res = cli.Post(kTaskRuns, body, "application/json");  // no directive: Warn
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(res->get_header_value("Warning"), "299 - \"unknown field \\\"spec.taskNmae\\\"\"");
  EXPECT_FALSE(nlohmann::json::parse(res->body)["spec"].contains("taskNmae"));

  // A merge patch that adds an unknown field: Strict refuses with the patch wording.
  res = cli.Patch((std::string(kTaskRuns) + "/strict?fieldValidation=Strict").c_str(),
                  R"({"spec":{"other":1}})", "application/merge-patch+json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(nlohmann::json::parse(res->body)["message"],
            "strict decoding error: unknown field \"spec.other\"");
  res = cli.Patch((std::string(kTaskRuns) + "/strict?fieldValidation=Ignore").c_str(),
                  R"({"spec":{"other":1}})", "application/merge-patch+json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(res->has_header("Warning"));
  // Server-side apply fails on undeclared fields before fieldValidation is looked at.
  res = cli.Patch((std::string(kTaskRuns) + "/applied?fieldManager=test&fieldValidation=Ignore").c_str(),
                  "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata: {name: applied}\n"
                  "spec: {taskName: t, taskNmae: t}\n",
                  "application/apply-patch+yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  j = nlohmann::json::parse(res->body);
  EXPECT_FALSE(j.contains("reason"));
  EXPECT_EQ(j["message"],
            "failed to create typed patch object (default/applied; automation.astronetes.io/v1alpha1, "
            "Kind=TaskRun): .spec.taskNmae: field not declared in schema");
  res = cli.Patch((std::string(kTaskRuns) + "/applied?fieldManager=test").c_str(),
                  "apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\nmetadata: {name: applied}\n"
                  "spec: {taskName: t}\n",
                  "application/apply-patch+yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["spec"]["suspendLiveSynchronization"], false);
  res = cli.Post((std::string(kTaskRuns) + "?fieldValidation=Loose").c_str(), body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(CrdSchemaE2eTest, UpdatePatchAndStatusAreValidated) {
  Reply r = Req("POST", kLiveSyncs, LiveSync("ls"));
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.body["spec"]["suspend"], false);
  EXPECT_EQ(r.body["spec"]["config"]["free"], nlohmann::json({1, 2}));
  const std::string item = std::string(kLiveSyncs) + "/ls";

  auto put = r.body;
  put["spec"].erase("plugin");
  r = Req("PUT", item, put);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["details"]["causes"][0]["field"], "spec.plugin");

  r = Req("PATCH", item, nlohmann::json::parse(R"([{"op":"replace","path":"/spec/suspend","value":1}])"),
          "application/json-patch+json");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["details"]["causes"][0]["field"], "spec.suspend");

  r = Req("PATCH", item + "/status",
          nlohmann::json{{"status", {{"phase", "Running"}, {"objectsSynchronized", "many"}}}},
          "application/merge-patch+json");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["details"]["causes"][0]["field"], "status.objectsSynchronized");
  r = Req("PATCH", item + "/status",
          nlohmann::json{{"status",
                          {{"phase", "Running"},
                           {"conditions",
                            {{{"type", "Ready"},
                              {"status", "True"},
                              {"reason", "Running"},
                              {"message", ""},
                              {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}}}},
          "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["metadata"]["generation"], 1);
  r = Req("PATCH", item + "/status",
          nlohmann::json{{"status", {{"conditions", {{{"type", "Ready"}, {"status", "Maybe"}}}}}}},
          "application/merge-patch+json");
  EXPECT_EQ(r.status, 422);

  // The schema survives a restart (the CRDs come back from the data dir).
  ASSERT_TRUE(emu_->Restart().ok());
  r = Req("POST", kTaskRuns, TaskRun("after-restart", nlohmann::json::object()));
  EXPECT_EQ(r.status, 422);
}

TEST_F(CrdSchemaE2eTest, TablesForGetAndList) {
  ASSERT_EQ(Req("POST", kLiveSyncs, LiveSync("a")).status, 201);
  ASSERT_EQ(Req("PATCH", std::string(kLiveSyncs) + "/a/status",
                nlohmann::json{{"status", {{"phase", "Running"}}}}, "application/merge-patch+json")
                .status,
            200);
  auto cli = Client();
  httplib::Headers headers = {{"Accept", kTableAccept}};
  auto res = cli.Get((std::string(kLiveSyncs) + "?limit=500").c_str(), headers);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto table = nlohmann::json::parse(res->body);
  EXPECT_EQ(table["kind"], "Table");
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Suspend", "Source", "Destination", "Phase", "Age"}));
  ASSERT_EQ(table["rows"].size(), 1u);
  const auto& cells = table["rows"][0]["cells"];
  EXPECT_EQ(cells[0], "a");
  EXPECT_EQ(cells[1], false);
  EXPECT_EQ(cells[2], "src");
  EXPECT_EQ(cells[3], "dst");
  EXPECT_EQ(cells[4], "Running");
  EXPECT_TRUE(cells[5].is_string());
  EXPECT_FALSE(table["metadata"]["resourceVersion"].get<std::string>().empty());

  res = cli.Get((std::string(kLiveSyncs) + "/a?includeObject=Object").c_str(), headers);
  ASSERT_TRUE(res);
  table = nlohmann::json::parse(res->body);
  EXPECT_EQ(table["rows"][0]["object"]["spec"]["config"]["sourceName"], "src");

  // Plain JSON first in Accept: the object, not a Table.
  res = cli.Get((std::string(kLiveSyncs) + "/a").c_str(), {{"Accept", "application/json"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(nlohmann::json::parse(res->body)["kind"], "LiveSynchronization");
  res = cli.Get("/api/v1/namespaces", headers);
  ASSERT_TRUE(res);
  table = nlohmann::json::parse(res->body);
  EXPECT_EQ(table["columnDefinitions"].size(), 2u);
  EXPECT_GE(table["rows"].size(), 4u);
}

TEST_F(CrdSchemaE2eTest, WatchSendsOneRowTablesWhenAsked) {
  ASSERT_EQ(Req("POST", kLiveSyncs, LiveSync("w")).status, 201);
  httplib::Client cli("127.0.0.1", emu_->port());
  std::string body;
  auto res = cli.Get((std::string(kLiveSyncs) + "?watch=true&timeoutSeconds=1").c_str(),
                     {{"Accept", kTableAccept}}, [&](const char* data, size_t len) {
                       body.append(data, len);
                       return true;
                     });
  ASSERT_TRUE(res);
  const auto nl = body.find('\n');
  ASSERT_NE(nl, std::string::npos) << body;
  auto event = nlohmann::json::parse(body.substr(0, nl));
  EXPECT_EQ(event["type"], "ADDED");
  EXPECT_EQ(event["object"]["kind"], "Table");
  EXPECT_EQ(event["object"]["columnDefinitions"].size(), 6u);
  ASSERT_EQ(event["object"]["rows"].size(), 1u);
  EXPECT_EQ(event["object"]["rows"][0]["cells"][2], "src");
  EXPECT_EQ(event["object"]["rows"][0]["object"]["metadata"]["name"], "w");
}

TEST_F(CrdSchemaE2eTest, EventFieldSelectors) {
  for (const auto& [name, kind] : {std::pair{"e1", "LiveSynchronization"}, std::pair{"e2", "TaskRun"}}) {
    nlohmann::json ev = {{"apiVersion", "v1"},
                         {"kind", "Event"},
                         {"metadata", {{"name", name}}},
                         {"involvedObject", {{"kind", kind}, {"name", "x"}, {"namespace", "default"}}},
                         {"reason", "Started"},
                         {"type", "Normal"}};
    ASSERT_EQ(Req("POST", "/api/v1/namespaces/default/events", ev).status, 201);
  }
  Reply r = Req("GET",
                "/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind%3DTaskRun,"
                "involvedObject.name%3Dx,type%3DNormal");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  ASSERT_EQ(r.body["items"].size(), 1u);
  EXPECT_EQ(r.body["items"][0]["metadata"]["name"], "e2");
  r = Req("GET", "/api/v1/events?fieldSelector=reason%3DStopped");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body["items"].empty());
  r = Req("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.color%3Dred");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["message"], "field label not supported: involvedObject.color");
}

}  // namespace
}  // namespace kubesync::emulator::testing
