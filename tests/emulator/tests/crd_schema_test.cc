// Unit tests of the structural-schema step (crd_schema.h): pruning, defaulting and the
// validation messages of the real apiextensions server.
#include "crd_schema.h"

#include <gtest/gtest.h>

namespace kubesync::emulator {
namespace {

using nlohmann::json;

json Schema() {
  return json::parse(R"({
    "type": "object",
    "properties": {
      "spec": {
        "type": "object",
        "required": ["taskName"],
        "properties": {
          "taskName": {"type": "string", "pattern": "^[a-z-]+$", "maxLength": 20},
          "suspend": {"type": "boolean", "default": false},
          "mode": {"type": "string", "enum": ["Allow", "Forbid"]},
          "limit": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2},
          "ratio": {"type": "number", "nullable": true},
          "port": {"x-kubernetes-int-or-string": true},
          "config": {"x-kubernetes-preserve-unknown-fields": true},
          "labels": {"type": "object", "additionalProperties": {"type": "string"}},
          "items": {"type": "array", "maxItems": 2, "items": {
            "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "size": {"type": "integer", "default": 1}}}},
          "nested": {"type": "object", "properties": {"flag": {"type": "boolean", "default": true}}}
        }
      },
      "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
    }
  })");
}

json Object(json spec) {
  return {{"apiVersion", "example.com/v1"},
          {"kind", "Thing"},
          {"metadata", {{"name", "x"}, {"namespace", "default"}, {"anything", 1}}},
          {"spec", std::move(spec)}};
}

TEST(CrdSchemaTest, PruneRemovesUndeclaredFieldsAndReportsTheirPaths) {
  json o = Object({{"taskName", "a"},
                   {"taskNmae", "b"},
                   {"config", {{"free", {{"form", true}}}}},
                   {"labels", {{"k", "v"}}},
                   {"items", {{{"name", "i"}, {"extra", 1}}}}});
  o["top"] = 1;
  const auto unknown = PruneUnknownFields(Schema(), o);
  EXPECT_EQ(unknown, (std::vector<std::string>{"spec.items[0].extra", "spec.taskNmae", "top"}));
  EXPECT_FALSE(o["spec"].contains("taskNmae"));
  EXPECT_FALSE(o.contains("top"));
  EXPECT_EQ(o["spec"]["config"], json({{"free", {{"form", true}}}}));
  EXPECT_EQ(o["spec"]["labels"], json({{"k", "v"}}));
  EXPECT_EQ(o["metadata"]["anything"], 1);  // metadata is not the schema's business
  EXPECT_EQ(o["apiVersion"], "example.com/v1");
}

TEST(CrdSchemaTest, PruneDropsNullsOfNonNullableFieldsOnly) {
  json o = Object({{"taskName", "a"}, {"suspend", nullptr}, {"ratio", nullptr}});
  EXPECT_TRUE(PruneUnknownFields(Schema(), o).empty());
  EXPECT_FALSE(o["spec"].contains("suspend"));
  EXPECT_TRUE(o["spec"]["ratio"].is_null());
}

TEST(CrdSchemaTest, DefaultsFillAbsentFieldsOfPresentObjects) {
  json o = Object({{"taskName", "a"}, {"items", {{{"name", "i"}}, {{"name", "j"}, {"size", 5}}}}});
  ApplySchemaDefaults(Schema(), o);
  EXPECT_EQ(o["spec"]["suspend"], false);
  EXPECT_EQ(o["spec"]["limit"], 2);
  EXPECT_EQ(o["spec"]["items"][0]["size"], 1);
  EXPECT_EQ(o["spec"]["items"][1]["size"], 5);
  EXPECT_FALSE(o["spec"].contains("nested"));  // absent parent: no defaults inside it
  EXPECT_FALSE(o.contains("status"));
  json kept = Object({{"taskName", "a"}, {"suspend", true}});
  ApplySchemaDefaults(Schema(), kept);
  EXPECT_EQ(kept["spec"]["suspend"], true);
}

TEST(CrdSchemaTest, RequiredAndTypeMessagesMatchTheRealServer) {
  auto causes = ValidateAgainstSchema(Schema(), Object({{"suspend", "yes"}}));
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(causes[0].field, "spec.taskName");
  EXPECT_EQ(causes[0].message, "Required value");
  EXPECT_EQ(causes[1].reason, "FieldValueTypeInvalid");
  EXPECT_EQ(causes[1].field, "spec.suspend");
  EXPECT_EQ(causes[1].message,
            "Invalid value: \"yes\": spec.suspend in body must be of type boolean: \"string\"");
}

TEST(CrdSchemaTest, EnumBoundsPatternLengthItemsAndIntOrString) {
  auto causes =
      ValidateAgainstSchema(Schema(), Object({{"taskName", "Not_Valid_And_Far_Too_Long"},
                                              {"mode", "Sometimes"},
                                              {"limit", 11},
                                              {"port", true},
                                              {"labels", {{"k", 1}}},
                                              {"items", {{{"name", "a"}}, {{"name", "b"}}, {{"size", 1}}}}}));
  std::map<std::string, std::vector<std::string>> by_field;
  for (const auto& c : causes) by_field[c.field].push_back(c.message);
  EXPECT_EQ(by_field["spec.taskName"],
            (std::vector<std::string>{"Too long: may not be more than 20 bytes",
                                      "Invalid value: \"Not_Valid_And_Far_Too_Long\": spec.taskName in body "
                                      "should match '^[a-z-]+$'"}));
  EXPECT_EQ(by_field["spec.mode"],
            (std::vector<std::string>{
                "Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\""}));
  EXPECT_EQ(
      by_field["spec.limit"],
      (std::vector<std::string>{"Invalid value: 11: spec.limit in body should be less than or equal to 10"}));
  EXPECT_EQ(by_field["spec.port"],
            (std::vector<std::string>{"Invalid value: true: spec.port in body must be of "
                                      "type integer,string: \"boolean\""}));
  EXPECT_EQ(by_field["spec.labels.k"],
            (std::vector<std::string>{
                "Invalid value: 1: spec.labels.k in body must be of type string: \"integer\""}));
  EXPECT_EQ(by_field["spec.items"], (std::vector<std::string>{"Too many: 3: must have at most 2 items"}));
  EXPECT_EQ(by_field["spec.items[2].name"], (std::vector<std::string>{"Required value"}));
  EXPECT_EQ(causes.size(), 8u);
}

TEST(CrdSchemaTest, ValidObjectsPass) {
  EXPECT_TRUE(ValidateAgainstSchema(Schema(), Object({{"taskName", "ok"},
                                                      {"limit", 0},
                                                      {"port", "http"},
                                                      {"ratio", nullptr},
                                                      {"config", {{"x", {1, "two"}}}}}))
                  .empty());
  EXPECT_TRUE(
      ValidateAgainstSchema(Schema(), Object({{"taskName", "ok"}, {"limit", 3.0}, {"port", 80}})).empty());
}

TEST(CrdSchemaTest, DecodeStrictWarnIgnore) {
  const json bad = Object({{"taskName", "a"}, {"taskNmae", "b"}});
  json o = bad;
  std::vector<std::string> warnings;
  auto e = DecodeCustomResource(Schema(), "example.com", "v1", "Thing", FieldValidation::kStrict, false, o,
                                &warnings);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 400);
  EXPECT_EQ(e->reason, "BadRequest");
  EXPECT_EQ(e->message,
            "Thing in version \"v1\" cannot be handled as a Thing: strict decoding error: unknown field "
            "\"spec.taskNmae\"");
  o = bad;
  e = DecodeCustomResource(Schema(), "example.com", "v1", "Thing", FieldValidation::kStrict, true, o,
                           &warnings);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->message, "strict decoding error: unknown field \"spec.taskNmae\"");

  o = bad;
  e = DecodeCustomResource(Schema(), "example.com", "v1", "Thing", FieldValidation::kWarn, false, o,
                           &warnings);
  EXPECT_FALSE(e.has_value());
  EXPECT_EQ(warnings, (std::vector<std::string>{"unknown field \"spec.taskNmae\""}));
  EXPECT_EQ(o["spec"], json({{"taskName", "a"}, {"suspend", false}, {"limit", 2}}));

  warnings.clear();
  o = bad;
  e = DecodeCustomResource(Schema(), "example.com", "v1", "Thing", FieldValidation::kIgnore, false, o,
                           &warnings);
  EXPECT_FALSE(e.has_value());
  EXPECT_TRUE(warnings.empty());

  o = Object({{"suspend", 1}});
  e = DecodeCustomResource(Schema(), "example.com", "v1", "Thing", FieldValidation::kStrict, false, o,
                           &warnings);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 422);
  EXPECT_EQ(
      e->message,
      "Thing.example.com \"x\" is invalid: [spec.taskName: Required value, spec.suspend: Invalid value: 1: "
      "spec.suspend in body must be of type boolean: \"integer\"]");
}

TEST(CrdSchemaTest, ParseFieldValidation) {
  EXPECT_EQ(ParseFieldValidation(""), FieldValidation::kWarn);
  EXPECT_EQ(ParseFieldValidation("Warn"), FieldValidation::kWarn);
  EXPECT_EQ(ParseFieldValidation("Strict"), FieldValidation::kStrict);
  EXPECT_EQ(ParseFieldValidation("Ignore"), FieldValidation::kIgnore);
  EXPECT_FALSE(ParseFieldValidation("strict").has_value());
}

}  // namespace
}  // namespace kubesync::emulator
