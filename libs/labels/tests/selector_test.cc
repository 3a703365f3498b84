#include "kubesync/labels/selector.h"

#include <gtest/gtest.h>

namespace kubesync::labels {
namespace {

using nlohmann::json;

struct MatchCase {
  const char* selector;
  json labels;
  bool matches;
};

class SelectorMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(SelectorMatchTest, Matches) {
  const auto& c = GetParam();
  auto sel = Selector::Parse(c.selector);
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_EQ(sel->Matches(c.labels), c.matches) << c.selector << " vs " << c.labels.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, SelectorMatchTest,
    ::testing::Values(
        MatchCase{"", json::object(), true}, MatchCase{"", {{"a", "b"}}, true},
        MatchCase{"app=web", {{"app", "web"}}, true}, MatchCase{"app==web", {{"app", "web"}}, true},
        MatchCase{"app=web", {{"app", "db"}}, false}, MatchCase{"app=web", json::object(), false},
        MatchCase{"app!=web", json::object(), true},  // != is true when the key is absent
        MatchCase{"app!=web", {{"app", "web"}}, false}, MatchCase{"app", {{"app", ""}}, true},
        MatchCase{"!app", {{"app", "x"}}, false}, MatchCase{"!app", nullptr, true},
        MatchCase{"env in (prod, staging)", {{"env", "staging"}}, true},
        MatchCase{"env in (prod,staging)", {{"env", "dev"}}, false},
        MatchCase{"env notin (prod,staging)", json::object(), true},
        MatchCase{"env notin (prod,staging)", {{"env", "prod"}}, false},
        MatchCase{"app=web,tier!=db , env in (a,b)", {{"app", "web"}, {"env", "a"}}, true},
        MatchCase{"app=web,tier!=db", {{"app", "web"}, {"tier", "db"}}, false},
        MatchCase{"app=", {{"app", ""}}, true}, MatchCase{"app=", {{"app", "x"}}, false},
        MatchCase{"replicas>2", {{"replicas", "3"}}, true}, MatchCase{"replicas<2", {{"replicas", "3"}}, false},
        MatchCase{"example.com/team=sre", {{"example.com/team", "sre"}}, true}));

TEST(SelectorParseTest, RejectsMalformedWithMessage) {
  for (const char* bad : {"app=web,", "in (a)", "app in a", "app in (a", "app notin ()", "=x", "app=(x)",
                          "a!b", "-bad=key", "app=bad value!", "x>y"}) {
    auto sel = Selector::Parse(bad);
    ASSERT_FALSE(sel.ok()) << "accepted: " << bad;
    EXPECT_EQ(sel.status().code(), Code::kInvalidArgument);
    EXPECT_NE(sel.status().message().find(bad), std::string::npos) << sel.status().message();
  }
}

TEST(SelectorParseTest, CanonicalStringRoundTrips) {
  auto sel = Selector::Parse("z=1, env in (b,a), !gone, app");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->String(), "app,env in (a,b),!gone,z=1");
  auto again = Selector::Parse(sel->String());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->requirements(), sel->requirements());
}

TEST(LabelSelectorTest, MatchLabelsAndExpressions) {
  json ls = {{"matchLabels", {{"app", "web"}}},
             {"matchExpressions", json::array({{{"key", "env"}, {"operator", "In"}, {"values", {"prod", "dr"}}},
                                               {{"key", "legacy"}, {"operator", "DoesNotExist"}}})}};
  auto sel = Selector::FromLabelSelector(ls, "spec.selector");
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_TRUE(sel->Matches(json{{"app", "web"}, {"env", "dr"}}));
  EXPECT_FALSE(sel->Matches(json{{"app", "web"}, {"env", "dr"}, {"legacy", "1"}}));
  EXPECT_FALSE(sel->Matches(json{{"app", "web"}}));
  EXPECT_TRUE(Selector::FromLabelSelector(nullptr)->Empty());
  EXPECT_TRUE(Selector::FromLabelSelector(json::object())->Matches(json{{"x", "y"}}));
}

TEST(LabelSelectorTest, ErrorsNameTheField) {
  struct Case {
    json ls;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"matchExpressions", {{{"key", "env"}, {"operator", "Equals"}, {"values", {"a"}}}}}},
       "spec.selector.matchExpressions[0].operator: unsupported value \"Equals\": want In, NotIn, Exists or "
       "DoesNotExist"},
      {{{"matchExpressions", {{{"key", "env"}, {"operator", "In"}}}}},
       "spec.selector.matchExpressions[0]: for 'in', 'notin' operators, values set can't be empty"},
      {{{"matchLabels", {{"app", 3}}}}, "spec.selector.matchLabels.app: must be a string"},
      {{{"matchLabel", {{"app", "x"}}}}, "spec.selector.matchLabel: unknown field (want matchLabels or matchExpressions)"},
      {{{"matchExpressions", {{{"operator", "Exists"}}}}}, "spec.selector.matchExpressions[0].key: required string"},
  };
  for (const auto& c : cases) {
    auto sel = Selector::FromLabelSelector(c.ls, "spec.selector");
    ASSERT_FALSE(sel.ok()) << c.ls.dump();
    EXPECT_EQ(sel.status().message(), c.message);
  }
}

TEST(FieldSelectorTest, ParsesTermsAndMatches) {
  auto sel = FieldSelector::Parse("metadata.name=a\\,b,metadata.namespace!=kube-system,status.phase==Running");
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  ASSERT_EQ(sel->requirements().size(), 3u);
  EXPECT_EQ(sel->requirements()[0], (FieldRequirement{"metadata.name", Operator::kEquals, "a,b"}));
  EXPECT_EQ(sel->requirements()[1], (FieldRequirement{"metadata.namespace", Operator::kNotEquals, "kube-system"}));
  EXPECT_EQ(sel->requirements()[2], (FieldRequirement{"status.phase", Operator::kEquals, "Running"}));
  auto lookup = [](const std::string& f) -> std::string {
    if (f == "metadata.name") return "a,b";
    if (f == "metadata.namespace") return "default";
    if (f == "status.phase") return "Running";
    return "";
  };
  EXPECT_TRUE(sel->Matches(lookup));
  EXPECT_TRUE(FieldSelector::Parse("")->Empty());
}

TEST(FieldSelectorTest, RejectsTermsWithoutOperator) {
  auto sel = FieldSelector::Parse("metadata.name");
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(sel.status().message(),
            "invalid field selector \"metadata.name\": invalid selector: 'metadata.name'; can't understand "
            "'metadata.name'");
}

TEST(LabelValidationTest, KeysAndValues) {
  EXPECT_TRUE(ValidateLabelKey("app.kubernetes.io/name").ok());
  EXPECT_FALSE(ValidateLabelKey("App.Example.com/name").ok());
  EXPECT_FALSE(ValidateLabelKey(std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateLabelValue("").ok());
  EXPECT_FALSE(ValidateLabelValue("-x").ok());
}

}  // namespace
}  // namespace kubesync::labels
