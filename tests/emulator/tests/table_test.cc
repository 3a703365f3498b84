// Unit tests of server-side printing (table.h) and of the core/v1 Event field selectors
// (util.h ParseFilter).
#include "table.h"

#include <gtest/gtest.h>

#include "kubesync/core/clock.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(TableTest, AcceptHeaderAsKubectlGetSendsIt) {
  EXPECT_EQ(TableVersionFromAccept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;"
                                   "v=v1beta1;g=meta.k8s.io,application/json"),
            "v1");
  EXPECT_EQ(TableVersionFromAccept("application/json; as=Table; v=v1beta1; g=meta.k8s.io"), "v1beta1");
  EXPECT_FALSE(TableVersionFromAccept("application/json").has_value());
  EXPECT_FALSE(TableVersionFromAccept("").has_value());
  EXPECT_FALSE(TableVersionFromAccept("application/json,application/json;as=Table;v=v1;g=meta.k8s.io"));
  EXPECT_FALSE(TableVersionFromAccept("application/json;as=Table;v=v2;g=meta.k8s.io"));
  EXPECT_EQ(TableVersionFromAccept("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,"
                                   "application/json;as=Table;v=v1;g=meta.k8s.io"),
            "v1");
}

TEST(TableTest, HumanDurationLikeApimachinery) {
  EXPECT_EQ(HumanDuration(seconds(-5)), "<invalid>");
  EXPECT_EQ(HumanDuration(seconds(-1)), "0s");
  EXPECT_EQ(HumanDuration(seconds(0)), "0s");
  EXPECT_EQ(HumanDuration(seconds(119)), "119s");
  EXPECT_EQ(HumanDuration(seconds(120)), "2m");
  EXPECT_EQ(HumanDuration(seconds(123)), "2m3s");
  EXPECT_EQ(HumanDuration(minutes(10) + seconds(30)), "10m");
  EXPECT_EQ(HumanDuration(minutes(179)), "179m");
  EXPECT_EQ(HumanDuration(hours(3)), "3h");
  EXPECT_EQ(HumanDuration(hours(7) + minutes(59)), "7h59m");
  EXPECT_EQ(HumanDuration(hours(47)), "47h");
  EXPECT_EQ(HumanDuration(hours(52)), "2d4h");
  EXPECT_EQ(HumanDuration(hours(24 * 30)), "30d");
  EXPECT_EQ(HumanDuration(hours(24 * (365 * 3 + 10))), "3y10d");
  EXPECT_EQ(HumanDuration(hours(24 * 365 * 9)), "9y");
}

TEST(TableTest, SimpleJsonPath) {
  const json o = {{"spec", {{"config", {{"sourceName", "a"}}}, {"items", {{{"n", 1}}, {{"n", 2}}}}}}};
  EXPECT_EQ(EvalSimpleJsonPath(o, ".spec.config.sourceName"), json("a"));
  EXPECT_EQ(EvalSimpleJsonPath(o, "{.spec.items[1].n}"), json(2));
  EXPECT_EQ(EvalSimpleJsonPath(o, ".spec.items[-1].n"), json(2));
  EXPECT_EQ(EvalSimpleJsonPath(o, ".spec['config'].sourceName"), json("a"));
  EXPECT_FALSE(EvalSimpleJsonPath(o, ".status.phase").has_value());
  EXPECT_FALSE(EvalSimpleJsonPath(o, ".spec.items[5]").has_value());
}

ResourceType LiveSyncType() {
  ResourceType t;
  t.group = "automation.astronetes.io";
  t.version = "v1alpha1";
  t.resource = "livesynchronizations";
  t.kind = "LiveSynchronization";
  t.custom = true;
  t.printer_columns = json::parse(R"([
    {"name": "Suspend", "type": "boolean", "jsonPath": ".spec.suspend"},
    {"name": "Source", "type": "string", "jsonPath": ".spec.config.sourceName"},
    {"name": "Count", "type": "integer", "jsonPath": ".status.count", "priority": 1},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])");
  return t;
}

TEST(TableTest, CustomResourceColumnsAndRows) {
  const auto now = *ParseRfc3339("2026-01-01T01:00:00Z");
  const json a = {
      {"apiVersion", "automation.astronetes.io/v1alpha1"},
      {"kind", "LiveSynchronization"},
      {"metadata", {{"name", "a"}, {"namespace", "ns"}, {"creationTimestamp", "2026-01-01T00:57:57Z"}}},
      {"spec", {{"suspend", false}, {"config", {{"sourceName", "src"}}}}},
      {"status", {{"count", 7.0}, {"phase", 3}}}};
  const json t = BuildTable(LiveSyncType(), {&a}, "v1", "", {{"resourceVersion", "9"}}, now);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(t["metadata"], json({{"resourceVersion", "9"}}));
  ASSERT_EQ(t["columnDefinitions"].size(), 6u);
  EXPECT_EQ(t["columnDefinitions"][0]["name"], "Name");
  EXPECT_EQ(t["columnDefinitions"][0]["format"], "name");
  EXPECT_EQ(t["columnDefinitions"][3]["priority"], 1);
  EXPECT_EQ(t["columnDefinitions"][5]["type"], "date");
  ASSERT_EQ(t["rows"].size(), 1u);
  // A string column prints any value; typed columns keep only values of their type.
  EXPECT_EQ(t["rows"][0]["cells"], json({"a", false, "src", 7, "3", "2m3s"}));
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["namespace"], "ns");

  const json full = BuildTable(LiveSyncType(), {&a}, "v1beta1", "Object", json::object(), now);
  EXPECT_EQ(full["apiVersion"], "meta.k8s.io/v1beta1");
  EXPECT_EQ(full["rows"][0]["object"], a);
  const json none = BuildTable(LiveSyncType(), {&a}, "v1", "None", json::object(), now);
  EXPECT_FALSE(none["rows"][0].contains("object"));

  const json empty = {{"metadata", {{"name", "b"}, {"creationTimestamp", "2026-01-01T01:00:00Z"}}}};
  const json t2 = BuildTable(LiveSyncType(), {&empty}, "v1", "", json::object(), now);
  EXPECT_EQ(t2["rows"][0]["cells"], json({"b", nullptr, nullptr, nullptr, nullptr, "0s"}));
}

TEST(TableTest, BuiltinKindsPrintNameAndAge) {
  ResourceType cm;
  cm.resource = "configmaps";
  cm.kind = "ConfigMap";
  cm.version = "v1";
  const json o = {{"metadata", {{"name", "c"}, {"creationTimestamp", "2025-12-30T01:00:00Z"}}}};
  const json t = BuildTable(cm, {&o}, "v1", "", json::object(), *ParseRfc3339("2026-01-01T01:00:00Z"));
  ASSERT_EQ(t["columnDefinitions"].size(), 2u);
  EXPECT_EQ(t["columnDefinitions"][1]["name"], "Age");
  EXPECT_EQ(t["rows"][0]["cells"], json({"c", "2d"}));
}

TEST(EventFieldSelectorTest, EventsSelectByInvolvedObjectReasonSourceAndType) {
  const json event = {{"metadata", {{"name", "e1"}, {"namespace", "ns"}}},
                      {"involvedObject",
                       {{"kind", "LiveSynchronization"},
                        {"name", "ls"},
                        {"namespace", "ns"},
                        {"uid", "u-1"},
                        {"apiVersion", "automation.astronetes.io/v1alpha1"}}},
                      {"reason", "Started"},
                      {"type", "Normal"},
                      {"reportingComponent", "kubesync-controller"}};
  auto parsed = ParseFilter("",
                            "involvedObject.kind=LiveSynchronization,involvedObject.name=ls,"
                            "involvedObject.namespace=ns,involvedObject.uid=u-1,"
                            "involvedObject.apiVersion=automation.astronetes.io/v1alpha1",
                            "events");
  ASSERT_TRUE(std::holds_alternative<Filter>(parsed));
  EXPECT_TRUE(std::get<Filter>(parsed).Matches(event));
  // source falls back to reportingComponent when source.component is empty.
  parsed = ParseFilter("", "source=kubesync-controller,reportingComponent=kubesync-controller,type=Normal",
                       "events");
  ASSERT_TRUE(std::holds_alternative<Filter>(parsed));
  EXPECT_TRUE(std::get<Filter>(parsed).Matches(event));
  parsed = ParseFilter("", "reason!=Started", "events");
  ASSERT_TRUE(std::holds_alternative<Filter>(parsed));
  EXPECT_FALSE(std::get<Filter>(parsed).Matches(event));
  parsed = ParseFilter("", "involvedObject.fieldPath=spec", "events");
  ASSERT_TRUE(std::holds_alternative<Filter>(parsed));
  EXPECT_FALSE(std::get<Filter>(parsed).Matches(event));

  parsed = ParseFilter("", "color=red", "events");
  ASSERT_TRUE(std::holds_alternative<ApiError>(parsed));
  EXPECT_EQ(std::get<ApiError>(parsed).code, 400);
  EXPECT_EQ(std::get<ApiError>(parsed).message, "field label not supported: color");
  // Other kinds keep the metadata-only rule.
  parsed = ParseFilter("", "reason=Started", "configmaps");
  ASSERT_TRUE(std::holds_alternative<ApiError>(parsed));
  EXPECT_EQ(std::get<ApiError>(parsed).message,
            "\"reason\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
}

}  // namespace
}  // namespace kubesync::emulator
