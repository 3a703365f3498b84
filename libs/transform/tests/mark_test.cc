#include "kubesync/transform/mark.h"

#include <gtest/gtest.h>

#include "kubesync/transform/clean.h"
#include "objects.h"

namespace kubesync::transform {
namespace {

using nlohmann::json;
namespace t = testing;

const MarkInfo kInfo{"dr", "shop-live", "6b2d3f5e-0d1c-4a7e-9f0a-2b1c3d4e5f60", "184467"};

TEST(MarkTest, SetsExactlyTheDocumentedNames) {
  json obj = Clean(t::Deployment(), {"apps", "v1", "deployments"});
  Mark(obj, kInfo, {{"/spec/replicas", json(3)}});
  EXPECT_EQ(obj["metadata"]["labels"]["kubesync.io/managed-by"], "dr.shop-live");
  const json& a = obj["metadata"]["annotations"];
  EXPECT_EQ(a["kubesync.io/live-synchronization"], "dr/shop-live");
  EXPECT_EQ(a["kubesync.io/source-uid"], "6b2d3f5e-0d1c-4a7e-9f0a-2b1c3d4e5f60");
  EXPECT_EQ(a["kubesync.io/source-resource-version"], "184467");
  EXPECT_EQ(a["kubesync.io/original-values"], R"([{"path":"/spec/replicas","value":3}])");
  EXPECT_EQ(a["kubesync.io/content-hash"], ContentHash(obj));
  EXPECT_EQ(RecordedContentHash(obj), ContentHash(obj));
  EXPECT_EQ(ContentHash(obj).size(), 64u);
  EXPECT_TRUE(IsManagedBy(obj, "dr.shop-live"));
}

TEST(MarkTest, NoOriginalsNoAnnotation) {
  json obj = t::CustomResource();
  obj["metadata"]["annotations"] = {{"kubesync.io/original-values", "stale"}};
  Mark(obj, kInfo);
  EXPECT_FALSE(obj["metadata"]["annotations"].contains("kubesync.io/original-values"));
  json scalar = 1;
  Mark(scalar, kInfo);
  EXPECT_EQ(scalar, json(1));
}

TEST(MarkTest, KnownSha256) {
  // sha256("{}") computed independently (printf '{}' | sha256sum).
  EXPECT_EQ(ContentHash(json::object()), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST(MarkTest, HashIgnoresPerWriteMarksOnly) {
  json a = Clean(t::Deployment(), {"apps", "v1", "deployments"});
  Mark(a, kInfo);
  json b = Clean(t::Deployment(), {"apps", "v1", "deployments"});
  MarkInfo later = kInfo;
  later.source_resource_version = "190000";  // e.g. a status-only write in the source
  Mark(b, later);
  EXPECT_EQ(RecordedContentHash(a), RecordedContentHash(b));

  json other_uid = Clean(t::Deployment(), {"apps", "v1", "deployments"});
  MarkInfo recreated = kInfo;
  recreated.source_uid = "another";
  Mark(other_uid, recreated);
  EXPECT_NE(RecordedContentHash(a), RecordedContentHash(other_uid));
}

TEST(MarkTest, HashIsSensitiveToContentAndStableAcrossKeyOrder) {
  json a = json::parse(R"({"b":1,"a":{"y":[1,2],"x":"s"}})");
  json b = json::parse(R"({"a":{"x":"s","y":[1,2]},"b":1})");
  EXPECT_EQ(ContentHash(a), ContentHash(b));
  json c = a;
  c["a"]["y"] = {2, 1};
  EXPECT_NE(ContentHash(a), ContentHash(c));
  json d = a;
  d["b"] = 1.0;
  EXPECT_NE(ContentHash(a), ContentHash(d));  // 1 vs 1.0 serialize differently
  json e = a;
  e["b"] = "1";
  EXPECT_NE(ContentHash(a), ContentHash(e));
  // Invalid UTF-8 hashes instead of throwing.
  EXPECT_EQ(ContentHash(json(std::string("\xff\xfe"))).size(), 64u);
}

TEST(MarkTest, OriginalValuesChangeTheHash) {
  // Same destination content (replicas forced to 0) but the source went from 3 to 5: the
  // object must be rewritten so the recorded original stays right.
  json a = t::CustomResource();
  json b = t::CustomResource();
  Mark(a, kInfo, {{"/spec/replicas", json(3)}});
  Mark(b, kInfo, {{"/spec/replicas", json(5)}});
  EXPECT_NE(RecordedContentHash(a), RecordedContentHash(b));
}

TEST(LabelValueTest, ShortIdsUnchangedLongOnesHashed) {
  EXPECT_EQ(LabelValueForId("dr.shop-live"), "dr.shop-live");
  EXPECT_EQ(LiveSynchronizationId("dr", "shop-live"), "dr.shop-live");
  EXPECT_EQ(LiveSynchronizationId("", "x"), "x");
  std::string long_id = "disaster-recovery-namespace." + std::string(60, 'n') + ".x";
  std::string label = LabelValueForId(long_id);
  EXPECT_LE(label.size(), 63u);
  EXPECT_EQ(label.substr(0, 28), long_id.substr(0, 28));
  EXPECT_EQ(label[label.size() - 9], '-');
  EXPECT_EQ(label, LabelValueForId(long_id));  // deterministic
  std::string other = long_id;
  other.back() = 'y';
  EXPECT_NE(LabelValueForId(other), label);  // same prefix, different hash
  std::string trailing_dot = std::string(53, 'a') + "." + std::string(20, 'b');
  std::string tl = LabelValueForId(trailing_dot);
  EXPECT_EQ(tl.substr(0, 54), std::string(53, 'a') + "-");  // '.' trimmed before '-hash'
  EXPECT_EQ(tl.size(), 62u);
  std::string odd = LabelValueForId("ns/with space");
  for (char c : odd) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') << odd;
  }
}

TEST(IsManagedByTest, NeedsBothLabelAndAnnotationOfTheSameSync) {
  json obj = t::CustomResource();
  EXPECT_FALSE(IsManagedBy(obj, "dr.shop-live"));
  Mark(obj, kInfo);
  EXPECT_TRUE(IsManagedBy(obj, "dr.shop-live"));
  EXPECT_FALSE(IsManagedBy(obj, "dr.other"));
  EXPECT_FALSE(IsManagedBy(obj, "other.shop-live"));
  json label_only = obj;
  label_only["metadata"]["annotations"].erase("kubesync.io/live-synchronization");
  EXPECT_FALSE(IsManagedBy(label_only, "dr.shop-live"));
  json wrong_annotation = obj;
  wrong_annotation["metadata"]["annotations"]["kubesync.io/live-synchronization"] = "dr/other";
  EXPECT_FALSE(IsManagedBy(wrong_annotation, "dr.shop-live"));
  // A long id: the label is the hashed form, the annotation the full name.
  std::string ns = "disaster-recovery";
  std::string name(70, 'z');
  json long_obj = t::CustomResource();
  Mark(long_obj, {ns, name, "u", "1"});
  EXPECT_TRUE(IsManagedBy(long_obj, ns + "." + name));
  EXPECT_FALSE(IsManagedBy(json(1), "dr.shop-live"));
}

TEST(RestoreFromAnnotationTest, RestoresAndRemovesTheAnnotation) {
  json obj = t::CustomResource();
  obj["spec"]["size"] = 0;
  Mark(obj, kInfo, {{"/spec/size", json(3)}, {"/spec/extra", std::nullopt}});
  obj["spec"]["extra"] = true;
  ASSERT_TRUE(RestoreFromAnnotation(obj).ok());
  EXPECT_EQ(obj["spec"], t::CustomResource()["spec"]);
  EXPECT_FALSE(obj["metadata"]["annotations"].contains("kubesync.io/original-values"));
  EXPECT_TRUE(RestoreFromAnnotation(obj).ok());  // nothing left to do
  obj["metadata"]["annotations"]["kubesync.io/original-values"] = "{not json";
  EXPECT_EQ(RestoreFromAnnotation(obj), InvalidArgumentError("kubesync.io/original-values: not valid JSON"));
}

}  // namespace
}  // namespace kubesync::transform
