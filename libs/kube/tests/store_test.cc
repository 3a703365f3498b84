#include "kubesync/kube/store.h"

#include <gtest/gtest.h>

namespace kubesync::kube {
namespace {

using nlohmann::json;

json Cm(const std::string& ns, const std::string& name, const std::string& rv, const std::string& value) {
  return {{"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", rv}}},
          {"data", {{"k", value}}}};
}

TEST(StoreTest, FullModeKeepsObjects) {
  Store store(StoreMode::kFull);
  EXPECT_FALSE(store.Upsert("a/x", Cm("a", "x", "1", "v1")).has_value());
  std::optional<StoreEntry> prev = store.Upsert("a/x", Cm("a", "x", "2", "v2"));
  ASSERT_TRUE(prev.has_value());
  EXPECT_EQ(prev->resource_version, "1");
  EXPECT_EQ((*prev->object)["data"]["k"], "v1");
  std::optional<StoreEntry> now = store.Get("a/x");
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->resource_version, "2");
  EXPECT_EQ((*now->object)["data"]["k"], "v2");
  EXPECT_EQ(store.size(), 1u);
  EXPECT_TRUE(store.Remove("a/x").has_value());
  EXPECT_FALSE(store.Remove("a/x").has_value());
  EXPECT_EQ(store.size(), 0u);
}

TEST(StoreTest, LeanModeKeepsKeyVersionAndHashOnly) {
  Store store(StoreMode::kLean);
  store.Upsert("a/x", Cm("a", "x", "1", "v1"));
  std::optional<StoreEntry> e = store.Get("a/x");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->object, nullptr);
  EXPECT_EQ(e->resource_version, "1");
  EXPECT_EQ(e->content_hash, ContentHash(Cm("a", "x", "1", "v1")));
  EXPECT_NE(e->content_hash, ContentHash(Cm("a", "x", "1", "v2")));
  EXPECT_EQ(store.Keys(), std::vector<std::string>{"a/x"});
}

TEST(StoreTest, KeysAndStubs) {
  EXPECT_EQ(ObjectKey(Cm("ns", "n", "1", "")), "ns/n");
  EXPECT_EQ(ObjectKey(json{{"metadata", {{"name", "cluster-wide"}}}}), "cluster-wide");
  EXPECT_EQ(KeyStub("ns/n", "7"),
            (json{{"metadata", {{"namespace", "ns"}, {"name", "n"}, {"resourceVersion", "7"}}}}));
  EXPECT_EQ(KeyStub("n", "7"), (json{{"metadata", {{"name", "n"}, {"resourceVersion", "7"}}}}));
  // The hash is of the compact serialization.
  EXPECT_EQ(ContentHash(json::parse("{\"a\": 1}")), ContentHash(json{{"a", 1}}));
}

}  // namespace
}  // namespace kubesync::kube
