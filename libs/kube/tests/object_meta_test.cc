#include "kubesync/kube/object_meta.h"

#include <gtest/gtest.h>

namespace kubesync::kube {
namespace {

using nlohmann::json;

TEST(ObjectMetaTest, ReadsEveryField) {
  const json cm = {{"kind", "ConfigMap"},
                   {"metadata",
                    {{"name", "a"},
                     {"namespace", "team"},
                     {"uid", "u-1"},
                     {"resourceVersion", "42"},
                     {"labels", {{"app", "web"}}},
                     {"annotations", {{"note", "x"}}}}}};
  EXPECT_EQ(meta::Name(cm), "a");
  EXPECT_EQ(meta::Namespace(cm), "team");
  EXPECT_EQ(meta::Uid(cm), "u-1");
  EXPECT_EQ(meta::ResourceVersion(cm), "42");
  EXPECT_EQ(meta::Label(cm, "app"), "web");
  EXPECT_EQ(meta::Annotation(cm, "note"), "x");
  EXPECT_EQ(meta::Labels(cm), json({{"app", "web"}}));
  EXPECT_EQ(meta::Annotations(cm), json({{"note", "x"}}));
  EXPECT_EQ(meta::Metadata(cm).at("name"), "a");
  EXPECT_EQ(ObjectKey(cm), "team/a");
}

TEST(ObjectMetaTest, ClusterScopedKeyIsTheName) {
  EXPECT_EQ(ObjectKey(json{{"metadata", {{"name", "team"}}}}), "team");
  EXPECT_EQ(ObjectKey("", "team"), "team");
  EXPECT_EQ(ObjectKey("team", "a"), "team/a");
}

TEST(ObjectMetaTest, MissingOrMistypedAnswersEmpty) {
  for (const json& object :
       {json(nullptr), json::array(), json("text"), json::object(), json{{"metadata", 3}},
        json{{"metadata", {{"name", 7}, {"labels", "x"}, {"annotations", {{"note", 1}}}}}}}) {
    SCOPED_TRACE(object.dump());
    EXPECT_EQ(meta::Name(object), "");
    EXPECT_EQ(meta::Namespace(object), "");
    EXPECT_EQ(meta::Label(object, "app"), "");
    EXPECT_EQ(meta::Annotation(object, "note"), "");
    EXPECT_TRUE(meta::Labels(object).is_object());
    EXPECT_TRUE(meta::Labels(object).empty());
    EXPECT_TRUE(meta::Metadata(object).is_object());
    EXPECT_EQ(ObjectKey(object), "");
  }
}

}  // namespace
}  // namespace kubesync::kube
