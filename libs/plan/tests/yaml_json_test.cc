// YAML is read as Kubernetes (sigs.k8s.io/yaml, go-yaml v2) reads it.
#include <gtest/gtest.h>

#include "kubesync/plan/parse.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;

json One(const std::string& yaml) {
  auto docs = YamlToJson(yaml);
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  if (!docs.ok() || docs->size() != 1) return json("<error>");
  return docs->front();
}

TEST(YamlJsonTest, ScalarsResolveLikeYaml11) {
  const json j = One(R"(
quoted_true: "true"
single_quoted: 'ok'
plain_true: true
yes_word: yes
on_word: On
off_word: off
int: 3
negative: -7
hex: 0x1F
octal: 0755
float: 2.5
integral_float: 1.0
exp: 1e3
version_like: 1.20
null_word: null
tilde: ~
empty:
quoted_null: "null"
quoted_number: "3"
word: hello
version: v1
forced: !!str 12
date: 2024-01-02
)");
  EXPECT_EQ(j["quoted_true"], json("true"));
  EXPECT_EQ(j["single_quoted"], json("ok"));
  EXPECT_EQ(j["plain_true"], json(true));
  EXPECT_EQ(j["yes_word"], json(true));
  EXPECT_EQ(j["on_word"], json(true));
  EXPECT_EQ(j["off_word"], json(false));
  EXPECT_EQ(j["int"], json(3));
  EXPECT_TRUE(j["int"].is_number_integer());
  EXPECT_EQ(j["negative"], json(-7));
  EXPECT_EQ(j["hex"], json(31));
  EXPECT_EQ(j["octal"], json(493));
  EXPECT_EQ(j["float"], json(2.5));
  EXPECT_TRUE(j["integral_float"].is_number_integer());
  EXPECT_EQ(j["exp"], json(1000));
  EXPECT_EQ(j["version_like"], json(1.2));
  EXPECT_TRUE(j["null_word"].is_null());
  EXPECT_TRUE(j["tilde"].is_null());
  EXPECT_TRUE(j["empty"].is_null());
  EXPECT_EQ(j["quoted_null"], json("null"));
  EXPECT_EQ(j["quoted_number"], json("3"));
  EXPECT_EQ(j["word"], json("hello"));
  EXPECT_EQ(j["version"], json("v1"));
  EXPECT_EQ(j["forced"], json("12"));
  EXPECT_EQ(j["date"], json("2024-01-02"));
}

TEST(YamlJsonTest, KeysBecomeStringsAndMergeKeysApply) {
  const json j = One(R"(
1: one
true: t
base: &base {a: 1, b: 2}
derived:
  <<: *base
  b: 3
)");
  EXPECT_EQ(j["1"], json("one"));
  EXPECT_EQ(j["true"], json("t"));
  EXPECT_EQ(j["derived"], json::parse(R"({"a":1,"b":3})"));
}

TEST(YamlJsonTest, MultipleDocuments) {
  auto docs = YamlToJson("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);  // empty documents are skipped
  EXPECT_EQ((*docs)[1], json::parse(R"({"b":2})"));
}

TEST(YamlJsonTest, ErrorsCarryLineAndColumn) {
  auto dup = YamlToJson("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "invalid YAML: line 3, column 1: duplicate key a");

  auto syntax = YamlToJson("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(syntax.status().message().rfind("invalid YAML: line ", 0), 0u) << syntax.status().message();

  auto inf = YamlToJson("a: .inf\n");
  ASSERT_FALSE(inf.ok());
  EXPECT_EQ(inf.status().message(),
            "invalid YAML: line 1, column 4: value .inf cannot be represented in JSON");

  auto complex_key = YamlToJson("? [a, b]\n: c\n");
  ASSERT_FALSE(complex_key.ok());
  EXPECT_EQ(complex_key.status().message(), "invalid YAML: line 1, column 3: mapping keys must be scalars");
}

TEST(YamlJsonTest, MalformedInputThatHangsYamlCppLoadAllIsAnError) {
  // yaml-cpp 0.7's LoadAll loops forever on this (jbeder/yaml-cpp#1319); found by the fuzzer.
  auto docs = YamlToJson("          b:\n ,  x    - c\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().message(), "invalid YAML: line 2, column 2: unexpected content");
}

TEST(YamlJsonTest, HostileInputIsBounded) {
  // An alias bomb: 9 levels of 10 references each would expand to 10^9 nodes.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", " : "") + prev;
    bomb += "]\n";
  }
  auto expanded = YamlToJson(bomb);
  ASSERT_FALSE(expanded.ok());
  EXPECT_NE(expanded.status().message().find("document too large"), std::string::npos)
      << expanded.status().message();

  const std::string deep = std::string(500, '[') + std::string(500, ']');
  auto nested = YamlToJson(deep);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().code(), Code::kInvalidArgument);

  auto huge = YamlToJson(std::string((8 << 20) + 1, ' '));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().message(), "YAML input of 8388609 bytes exceeds the limit of 8388608");
}

}  // namespace
}  // namespace kubesync::plan
