#include "decision.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "kubesync/transform/mark.h"

namespace kubesync::synchronizer {
namespace {

using nlohmann::json;

constexpr char kId[] = "dr.live";
const plan::Gvr kConfigMaps{"", "v1", "configmaps"};

json Marked(const std::string& value, const std::string& id_ns = "dr", const std::string& id_name = "live") {
  json obj = {{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", "a"}, {"namespace", "team"}}},
              {"data", {{"k", value}}}};
  transform::Mark(obj, {id_ns, id_name, "uid-1", "10"});
  return obj;
}

TEST(DecideWriteTest, CreatesWhenTheDestinationHasNothing) {
  json desired = Marked("v1");
  EXPECT_EQ(DecideWrite(std::nullopt, desired, transform::RecordedContentHash(desired), kId, kConfigMaps),
            WriteAction::kCreate);
}

TEST(DecideWriteTest, UpdatesOurObjectWhenTheContentDiffers) {
  json existing = Marked("v1");
  json desired = Marked("v2");
  EXPECT_EQ(DecideWrite(existing, desired, transform::RecordedContentHash(desired), kId, kConfigMaps),
            WriteAction::kUpdate);
}

TEST(DecideWriteTest, SkipsOurObjectWhenItAlreadyCarriesTheContent) {
  json existing = Marked("v1");
  existing["metadata"]["resourceVersion"] = "77";  // destination-populated fields do not count
  json desired = Marked("v1");
  EXPECT_EQ(DecideWrite(existing, desired, transform::RecordedContentHash(desired), kId, kConfigMaps),
            WriteAction::kSkipUnchanged);
}

TEST(DecideWriteTest, AVerifiedWriteLooksAtTheContentNotTheAnnotation) {
  json existing = Marked("v1");
  existing["metadata"]["resourceVersion"] = "77";
  json desired = Marked("v1");
  const std::string hash = transform::RecordedContentHash(desired);
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 10, /*verify_content=*/true),
            WriteAction::kSkipUnchanged);
  existing["data"]["k"] = "edited on the standby";  // the hash annotation still says v1
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 10), WriteAction::kSkipUnchanged);
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 10, /*verify_content=*/true),
            WriteAction::kUpdate);
}

TEST(DecideWriteTest, RefusesAnObjectWithoutOurMarking) {
  json existing = {{"metadata", {{"name", "a"}, {"namespace", "team"}}}, {"data", {{"k", "mine"}}}};
  json desired = Marked("v1");
  EXPECT_EQ(DecideWrite(existing, desired, transform::RecordedContentHash(desired), kId, kConfigMaps),
            WriteAction::kRefuseUnmanaged);
}

TEST(DecideWriteTest, RefusesAnObjectOfAnotherLiveSynchronization) {
  json existing = Marked("v1", "dr", "other");
  json desired = Marked("v2");
  EXPECT_EQ(DecideWrite(existing, desired, transform::RecordedContentHash(desired), kId, kConfigMaps),
            WriteAction::kRefuseUnmanaged);
}

TEST(DecideWriteTest, NeverOverwritesACopyOfANewerSourceVersion) {
  json existing = Marked("v2");  // marked from source resourceVersion 10
  json desired = Marked("v1");
  const std::string hash = transform::RecordedContentHash(desired);
  EXPECT_EQ(MarkedSourceVersion(existing), 10u);
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 9), WriteAction::kSkipNewer);
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 11), WriteAction::kUpdate);
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 0), WriteAction::kUpdate);  // not compared
  EXPECT_EQ(DecideDelete(existing, kId, 9), DeleteAction::kSkipNewer);
  EXPECT_EQ(DecideDelete(existing, kId, 12), DeleteAction::kDelete);
  // Someone else's object is refused before any version is looked at.
  EXPECT_EQ(DecideDelete(Marked("v1", "dr", "other"), kId, 9), DeleteAction::kRefuseUnmanaged);
  existing["metadata"]["annotations"][std::string(transform::kSourceResourceVersionAnnotation)] = "x1";
  EXPECT_EQ(MarkedSourceVersion(existing), 0u);
}

TEST(DecideWriteTest, VersionsOfAnotherSourceEpochAreNeverCompared) {
  json existing = Marked("v1");  // source resourceVersion 10 of epoch 100
  existing["metadata"]["annotations"][std::string(kSourceEpochAnnotation)] = "100";
  json desired = Marked("v1");
  const std::string hash = transform::RecordedContentHash(desired);
  EXPECT_EQ(MarkedSourceEpoch(existing), 100u);
  // Same epoch: ordered by resourceVersion as always.
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 9, false, 100), WriteAction::kSkipNewer);
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 11, false, 100), WriteAction::kSkipUnchanged);
  // A rebuilt source (epoch 200) at resourceVersion 3: rewritten even with the same content,
  // so the marking names the new source.
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 3, false, 200), WriteAction::kUpdate);
  EXPECT_EQ(DecideDelete(existing, kId, 3, 200), DeleteAction::kDelete);
  // An event of an older source than the copy's is never applied.
  EXPECT_EQ(DecideWrite(existing, desired, hash, kId, kConfigMaps, 5000, false, 50), WriteAction::kSkipNewer);
  EXPECT_EQ(DecideDelete(existing, kId, 5000, 50), DeleteAction::kSkipNewer);
  // Still someone else's object first.
  EXPECT_EQ(DecideWrite(Marked("v1", "dr", "other"), desired, hash, kId, kConfigMaps, 3, false, 200),
            WriteAction::kRefuseUnmanaged);
}

TEST(DecideWriteTest, BoundPvcIsRewrittenOnlyWhenRequestsChange) {
  const plan::Gvr pvcs{"", "v1", "persistentvolumeclaims"};
  auto pvc = [](const std::string& size) {
    json obj = {
        {"apiVersion", "v1"},
        {"kind", "PersistentVolumeClaim"},
        {"metadata", {{"name", "data"}, {"namespace", "team"}}},
        {"spec", {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", size}}}}}}}};
    transform::Mark(obj, {"dr", "live", "uid-1", "10"});
    return obj;
  };
  json existing = pvc("1Gi");
  existing["spec"]["volumeName"] = "pv-7";  // bound in the destination
  EXPECT_EQ(DecideWrite(existing, pvc("1Gi"), "", kId, pvcs), WriteAction::kSkipUnchanged);
  EXPECT_EQ(DecideWrite(existing, pvc("2Gi"), "", kId, pvcs), WriteAction::kUpdate);
}

TEST(DecideDeleteTest, DeletesOnlyWhatWeManage) {
  EXPECT_EQ(DecideDelete(std::nullopt, kId), DeleteAction::kAlreadyGone);
  EXPECT_EQ(DecideDelete(Marked("v1"), kId), DeleteAction::kDelete);
  EXPECT_EQ(DecideDelete(Marked("v1", "dr", "other"), kId), DeleteAction::kRefuseUnmanaged);
  json plain = {
      {"metadata",
       {{"name", "a"}, {"namespace", "team"}, {"labels", {{"kubesync.io/managed-by", "dr.live"}}}}}};
  EXPECT_EQ(DecideDelete(plain, kId), DeleteAction::kRefuseUnmanaged) << "a label alone is not our marking";
}

// The plan check: only what a rule replicates may be created or updated.
class CheckInPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plan_.name = "live";
    plan_.namespace_ = "dr";
    plan_.operator_namespace = "kubesync";
    plan::Rule configmaps;
    configmaps.gvr = kConfigMaps;
    configmaps.exclude_names.push_back(plan::NameRegex{"^private-", std::make_shared<re2::RE2>("^private-")});
    plan::Rule namespaces;
    namespaces.gvr = {"", "v1", "namespaces"};
    plan_.rules = {configmaps, namespaces};
  }
  static json Object(const std::string& api_version, const std::string& ns, const std::string& name) {
    json obj = {{"apiVersion", api_version}, {"metadata", {{"name", name}}}};
    if (!ns.empty()) obj["metadata"]["namespace"] = ns;
    return obj;
  }
  plan::Plan plan_;
};

TEST_F(CheckInPlanTest, AllowsWhatARuleReplicates) {
  EXPECT_TRUE(CheckInPlan(plan_, kConfigMaps, "team", "a", Object("v1", "team", "a")).ok());
  EXPECT_TRUE(CheckInPlan(plan_, {"", "v1", "namespaces"}, "", "team", Object("v1", "", "team")).ok());
}

TEST_F(CheckInPlanTest, RefusesAResourceNoRuleNames) {
  const plan::Gvr bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings"};
  Status s = CheckInPlan(plan_, bindings, "", "pwned", Object("rbac.authorization.k8s.io/v1", "", "pwned"));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "rbac.authorization.k8s.io/v1/clusterrolebindings pwned is not in the plan of this live "
            "synchronization: no rule replicates rbac.authorization.k8s.io/v1/clusterrolebindings; it is not "
            "written");
}

TEST_F(CheckInPlanTest, RefusesANameTheRuleExcludes) {
  Status s = CheckInPlan(plan_, kConfigMaps, "team", "private-key", Object("v1", "team", "private-key"));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("v1/configmaps team/private-key is not in the plan"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("no rule for v1/configmaps selects its name"), std::string::npos) << s.message();
}

TEST_F(CheckInPlanTest, RefusesDefaultExcludedNamespaces) {
  EXPECT_EQ(CheckInPlan(plan_, kConfigMaps, "kube-system", "a", Object("v1", "kube-system", "a")).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(CheckInPlan(plan_, kConfigMaps, "kubesync", "a", Object("v1", "kubesync", "a")).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(
      CheckInPlan(plan_, {"", "v1", "namespaces"}, "", "kube-public", Object("v1", "", "kube-public")).code(),
      Code::kPermissionDenied);
}

TEST_F(CheckInPlanTest, RefusesAnObjectThatIsNotTheOneTheEnvelopeNames) {
  // The URL is built from the envelope, the body from the object: they must agree.
  Status name = CheckInPlan(plan_, kConfigMaps, "team", "a", Object("v1", "team", "other"));
  EXPECT_EQ(name.code(), Code::kPermissionDenied);
  EXPECT_NE(name.message().find("metadata.name \"other\" differs"), std::string::npos) << name.message();
  EXPECT_EQ(CheckInPlan(plan_, kConfigMaps, "team", "a", Object("v1", "elsewhere", "a")).code(),
            Code::kPermissionDenied);
  Status version =
      CheckInPlan(plan_, kConfigMaps, "team", "a", Object("rbac.authorization.k8s.io/v1", "team", "a"));
  EXPECT_EQ(version.code(), Code::kPermissionDenied);
  EXPECT_NE(version.message().find("apiVersion is not v1"), std::string::npos) << version.message();
}

}  // namespace
}  // namespace kubesync::synchronizer
