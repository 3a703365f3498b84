// Logs: Secret values never appear in any line of any component at any level (debug
// here), and the lines follow the logging chapter of seeds/001: one JSON object per line,
// the documented msg strings and fields, sourceCluster only in the listener/processor,
// destinationCluster only in the synchronizer.
#include <gtest/gtest.h>

#include "configmap_plan.h"
#include "kubesync/testsupport/process.h"
#include "pipeline_test_base.h"

namespace kubesync::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr char kPassword[] = "hunter2-Pa55w0rd-e2e";
constexpr char kPassword2[] = "s3cond-Pa55w0rd-e2e";
constexpr char kApiKey[] = "AKIA-e2e-secret-api-key-42";
constexpr char kOutOfScope[] = "out-of-scope-e2e-secret-77";

class LogsTest : public PipelineTest {};

TEST_F(LogsTest, SecretValuesNeverAppearInAnyLogLine) {
  StartPipeline({.plan_yaml = ConfigMapPlan("logs"), .log_level = "debug"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  E2E_ASSERT_OK(EnsureNamespace(src(), "other", {{"env", "prod"}}));
  json secret = SecretObject("app", "db", {{"password", kPassword}, {"apiKey", kApiKey}});
  // kubectl apply keeps the whole object, data included, in this annotation.
  secret["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
      json{{"apiVersion", "v1"}, {"kind", "Secret"}, {"stringData", {{"password", kPassword}}}}.dump();
  E2E_ASSERT_OK(Upsert(src(), SecretRef("app"), secret));
  E2E_ASSERT_OK(Upsert(src(), SecretRef("other"), SecretObject("other", "db", {{"password", kOutOfScope}})));
  ASSERT_TRUE(p().WaitForDestination(SecretRef("app", "db"), [](const json& s) {
    return s["data"].value("password", "") == Base64(kPassword);
  }));
  E2E_ASSERT_OK(Modify(src(), SecretRef("app", "db"), [](json& s) { s["data"]["password"] = Base64(kPassword2); }));
  ASSERT_TRUE(p().WaitForDestination(SecretRef("app", "db"), [](const json& s) {
    return s["data"].value("password", "") == Base64(kPassword2);
  }));
  E2E_ASSERT_OK(src().Delete(SecretRef("app", "db")));
  ASSERT_TRUE(p().WaitForDestinationAbsent(SecretRef("app", "db")));
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  // The debug lines were written (so the grep below looks at real output).
  ASSERT_FALSE(LogLines(p().Logs(Component::kEventsListener), "object read from cluster").empty());
  ASSERT_FALSE(LogLines(p().Logs(Component::kSynchronizer), "object deleted in cluster").empty());
  const auto files = p().LogFiles();
  ASSERT_GE(files.size(), 3u);
  for (const auto& path : files) {
    const std::string text = testsupport::ReadFile(path);
    for (const std::string value : {kPassword, kPassword2, kApiKey, kOutOfScope}) {
      EXPECT_EQ(text.find(value), std::string::npos) << path.filename() << " contains a Secret value";
      EXPECT_EQ(text.find(Base64(value)), std::string::npos) << path.filename() << " contains a Secret value (base64)";
    }
  }
}

bool HasObjectRef(const json& line, const char* field) {
  if (!line.contains(field) || !line[field].is_object()) {
    return false;
  }
  const json& o = line[field];
  return o.contains("apiVersion") && o.contains("resource") && o.contains("name");
}

TEST_F(LogsTest, LinesFollowTheLoggingChapter) {
  StartPipeline({.plan_yaml = ConfigMapPlan("logfields"), .log_level = "debug"});
  E2E_ASSERT_OK(EnsureNamespace(src(), "app", {{"env", "pre"}}));
  E2E_ASSERT_OK(Upsert(src(), ConfigMapRef("app"), ConfigMapObject("app", "a", {{"v", "1"}}, {{"dr", "on"}})));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "a"), [](const json&) { return true; }));
  E2E_ASSERT_OK(Modify(src(), ConfigMapRef("app", "a"), [](json& cm) { cm["data"]["v"] = "2"; }));
  ASSERT_TRUE(p().WaitForDestination(ConfigMapRef("app", "a"),
                                     [](const json& cm) { return cm["data"].value("v", "") == "2"; }));
  E2E_ASSERT_OK(src().Delete(ConfigMapRef("app", "a")));
  ASSERT_TRUE(p().WaitForDestinationAbsent(ConfigMapRef("app", "a")));
  ASSERT_TRUE(p().WaitForIdle(seconds(20)));

  for (Component c : {Component::kEventsListener, Component::kProcessor, Component::kSynchronizer}) {
    const std::string text = p().Logs(c);
    size_t lines = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) {
        end = text.size();
      }
      const std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty()) {
        continue;
      }
      ++lines;
      const json j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << ComponentName(c) << " wrote a line that is not a JSON object: " << line;
      EXPECT_TRUE(j.contains("level") && j.contains("timestamp") && j.contains("msg")) << line;
      ASSERT_TRUE(j.contains("process") && j["process"].is_object()) << line;
      EXPECT_EQ(j["process"].value("id", ""), ComponentName(c)) << line;
      if (c == Component::kSynchronizer) {
        EXPECT_FALSE(j.contains("sourceCluster")) << "synchronizer line with sourceCluster: " << line;
      } else {
        EXPECT_FALSE(j.contains("destinationCluster")) << ComponentName(c) << " line with destinationCluster: " << line;
      }
    }
    EXPECT_GT(lines, 0u) << ComponentName(c) << " logged nothing at debug";
  }

  const auto read = LogLines(p().Logs(Component::kEventsListener), "object read from cluster");
  ASSERT_FALSE(read.empty());
  bool saw_update = false;
  for (const auto& line : read) {
    EXPECT_TRUE(HasObjectRef(line, "sourceObject")) << line.dump();
    EXPECT_TRUE(line.contains("sourceCluster")) << line.dump();
    if (line.contains("event") && line["event"].value("type", "") == "update") {
      saw_update = true;
      EXPECT_TRUE(HasObjectRef(line, "oldSourceObject")) << line.dump();
    }
  }
  EXPECT_TRUE(saw_update) << "no 'object read from cluster' line with event.type update";

  const std::string sync_logs = p().Logs(Component::kSynchronizer);
  for (const char* msg : {"creating object in cluster", "object created in cluster", "updating object in cluster",
                          "object updated in cluster", "deleting object in cluster", "object deleted in cluster"}) {
    const auto lines = LogLines(sync_logs, msg);
    ASSERT_FALSE(lines.empty()) << "no '" << msg << "' line in the synchronizer's log";
    EXPECT_TRUE(HasObjectRef(lines.front(), "destinationObject")) << lines.front().dump();
    EXPECT_TRUE(lines.front().contains("destinationCluster")) << lines.front().dump();
    EXPECT_EQ(lines.front()["destinationObject"].value("name", ""), "a") << lines.front().dump();
  }
}

}  // namespace
}  // namespace kubesync::e2e
