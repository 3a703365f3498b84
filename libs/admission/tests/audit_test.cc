#include "kubesync/admission/audit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "kubesync/core/base64.h"
#include "kubesync/core/testing/fake_clock.h"

namespace kubesync::admission {
namespace {

using nlohmann::json;

const WallTime kNow(std::chrono::nanoseconds(1'707'487'530'675'205'250));
constexpr char kNowText[] = "2024-02-09T14:05:30.67520525Z";
constexpr char kTime[] = "audit.astronetes.io/last-update-time";
constexpr char kUid[] = "audit.astronetes.io/last-update-user-uid";
constexpr char kUser[] = "audit.astronetes.io/last-update-username";

struct Request {
  std::string operation = "CREATE";
  std::string group = "automation.astronetes.io";
  json object;
  json old_object;
  std::string sub_resource;
  json user_info = {{"username", "system:serviceaccount:preproduction:microservice1"},
                    {"uid", "b3fd2a87-0547-4ff7-a49f-cce903cc2b61"},
                    {"groups", {"system:serviceaccounts"}}};
};

json MakeReview(const Request& r) {
  json request = {
      {"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
      {"kind", {{"group", r.group}, {"version", "v1alpha1"}, {"kind", "LiveSynchronization"}}},
      {"resource", {{"group", r.group}, {"version", "v1alpha1"}, {"resource", "livesynchronizations"}}},
      {"name", "ls1"},
      {"namespace", "dr"},
      {"operation", r.operation},
      {"userInfo", r.user_info},
      {"object", r.object},
      {"oldObject", r.old_object},
      {"dryRun", false}};
  if (!r.sub_resource.empty()) {
    request["subResource"] = r.sub_resource;
  }
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

json LiveSync(json metadata_extra = json::object(), json spec = {{"suspend", false}}) {
  json metadata = {{"name", "ls1"}, {"namespace", "dr"}};
  metadata.update(metadata_extra);
  return {{"apiVersion", "automation.astronetes.io/v1alpha1"},
          {"kind", "LiveSynchronization"},
          {"metadata", metadata},
          {"spec", spec}};
}

json DecodePatch(const json& answer) {
  const auto bytes = Base64Decode(answer["response"]["patch"].get<std::string>());
  EXPECT_TRUE(bytes.has_value());
  return json::parse(bytes.value_or("null"));
}

const json kStamp = {{kTime, kNowText},
                     {kUid, "b3fd2a87-0547-4ff7-a49f-cce903cc2b61"},
                     {kUser, "system:serviceaccount:preproduction:microservice1"}};

class ReviewTest : public ::testing::Test {
 protected:
  json Answer(const Request& r) { return Review(MakeReview(r), clock_); }
  // The object after the answer's patch (the object itself when there is none).
  json Patched(const Request& r) {
    const json answer = Answer(r);
    if (!answer["response"].contains("patch")) {
      return r.object;
    }
    return r.object.patch(DecodePatch(answer));
  }
  testing::FakeClock clock_{kNow};
};

TEST_F(ReviewTest, CreateAddsTheAnnotationsMapWithTheThreeFields) {
  Request r;
  r.object = LiveSync();
  const json answer = Answer(r);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  const json& response = answer["response"];
  EXPECT_EQ(response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(response["allowed"], true);
  EXPECT_EQ(response["patchType"], "JSONPatch");
  EXPECT_FALSE(response.contains("warnings"));
  EXPECT_EQ(DecodePatch(answer), json::parse(R"([{"op":"add","path":"/metadata/annotations","value":{
              "audit.astronetes.io/last-update-time":"2024-02-09T14:05:30.67520525Z",
              "audit.astronetes.io/last-update-user-uid":"b3fd2a87-0547-4ff7-a49f-cce903cc2b61",
              "audit.astronetes.io/last-update-username":"system:serviceaccount:preproduction:microservice1"}}])"));
  json expected = r.object;
  expected["metadata"]["annotations"] = kStamp;
  EXPECT_EQ(Patched(r), expected);
}

TEST_F(ReviewTest, CreateKeepsExistingAnnotationsAndEscapesTheKeys) {
  Request r;
  r.object = LiveSync({{"annotations", {{"team", "dr"}, {"example.com/owner", "ops"}}}});
  const json patch = DecodePatch(Answer(r));
  ASSERT_EQ(patch.size(), 3u);
  EXPECT_EQ(patch[0], json({{"op", "add"},
                            {"path", "/metadata/annotations/audit.astronetes.io~1last-update-time"},
                            {"value", kNowText}}));
  json expected_annotations = kStamp;
  expected_annotations["team"] = "dr";
  expected_annotations["example.com/owner"] = "ops";
  EXPECT_EQ(Patched(r)["metadata"]["annotations"], expected_annotations);
}

TEST_F(ReviewTest, CreateReplacesAuditAnnotationsTheUserWrote) {
  Request r;
  r.object = LiveSync({{"annotations", {{kUser, "someone-else"}, {kTime, "1999-01-01T00:00:00Z"}}}});
  const json patch = DecodePatch(Answer(r));
  ASSERT_EQ(patch.size(), 3u);
  EXPECT_EQ(patch[0]["op"], "replace");  // last-update-time existed
  EXPECT_EQ(patch[1]["op"], "add");      // last-update-user-uid did not
  EXPECT_EQ(patch[2]["op"], "replace");  // last-update-username existed
  EXPECT_EQ(Patched(r)["metadata"]["annotations"], kStamp);
}

TEST_F(ReviewTest, CreateWithNullAnnotationsOrNoMetadataCreatesThem) {
  Request r;
  r.object = LiveSync({{"annotations", nullptr}});
  EXPECT_EQ(Patched(r)["metadata"]["annotations"], kStamp);

  r.object = {{"kind", "Bucket"}, {"spec", {{"x", 1}}}};
  r.group = "assets.astronetes.io";
  EXPECT_EQ(Patched(r),
            json({{"kind", "Bucket"}, {"spec", {{"x", 1}}}, {"metadata", {{"annotations", kStamp}}}}));
}

TEST_F(ReviewTest, UpdateOfSpecStampsWithTheCurrentTime) {
  Request r;
  r.operation = "UPDATE";
  r.old_object = LiveSync({{"annotations", kStamp}}, {{"suspend", false}});
  r.object = LiveSync({{"annotations", kStamp}}, {{"suspend", true}});
  clock_.Advance(std::chrono::seconds(60));
  const json patched = Patched(r);
  EXPECT_EQ(patched["metadata"]["annotations"][kTime], "2024-02-09T14:06:30.67520525Z");
  EXPECT_EQ(patched["spec"]["suspend"], true);
}

TEST_F(ReviewTest, UpdateOfLabelsStamps) {
  Request r;
  r.operation = "UPDATE";
  r.old_object = LiveSync();
  r.object = LiveSync({{"labels", {{"tier", "gold"}}}});
  EXPECT_EQ(Patched(r)["metadata"]["annotations"], kStamp);

  r.old_object = LiveSync({{"labels", {{"tier", "gold"}}}});
  r.object = LiveSync({{"labels", {{"tier", "silver"}}}});
  EXPECT_EQ(Patched(r)["metadata"]["annotations"], kStamp);
}

TEST_F(ReviewTest, UpdateOfAnotherAnnotationStamps) {
  Request r;
  r.operation = "UPDATE";
  r.old_object = LiveSync({{"annotations", {{"note", "a"}}}});
  r.object = LiveSync({{"annotations", {{"note", "b"}}}});
  json expected = kStamp;
  expected["note"] = "b";
  EXPECT_EQ(Patched(r)["metadata"]["annotations"], expected);
}

TEST_F(ReviewTest, UpdateOfStatusOnlyIsNotRecorded) {
  Request r;
  r.operation = "UPDATE";
  r.old_object = LiveSync();
  r.object = LiveSync();
  r.object["status"] = {{"phase", "Running"}};
  r.object["metadata"]["resourceVersion"] = "42";
  r.object["metadata"]["finalizers"] = {"kubesync.io/cleanup"};
  json answer = Answer(r);
  EXPECT_EQ(answer["response"], json({{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"}, {"allowed", true}}));

  // Through the status subresource, even a changed spec is not recorded.
  r.sub_resource = "status";
  r.object["spec"]["suspend"] = true;
  answer = Answer(r);
  EXPECT_EQ(answer["response"], json({{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"}, {"allowed", true}}));
}

TEST_F(ReviewTest, UpdateWhereOnlyTheAuditAnnotationsChangedIsNotRecorded) {
  Request r;
  r.operation = "UPDATE";
  r.old_object = LiveSync({{"annotations", kStamp}, {"labels", {{"a", "b"}}}});
  json forged = kStamp;
  forged[kUser] = "mallory";
  r.object = LiveSync({{"annotations", forged}, {"labels", {{"a", "b"}}}});
  const json answer = Answer(r);
  EXPECT_FALSE(answer["response"].contains("patch"));
  EXPECT_FALSE(answer["response"].contains("patchType"));
  EXPECT_FALSE(answer["response"].contains("warnings"));
}

TEST_F(ReviewTest, AbsentNullAndEmptyMapsAreTheSame) {
  Request r;
  r.operation = "UPDATE";
  r.old_object = LiveSync();
  r.object = LiveSync({{"labels", json::object()}, {"annotations", nullptr}});
  EXPECT_FALSE(Answer(r)["response"].contains("patch"));
}

TEST_F(ReviewTest, OtherGroupsAndOperationsAreNotPatched) {
  Request r;
  r.group = "apps";
  r.object = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", "web"}}}};
  json answer = Answer(r);
  EXPECT_EQ(answer["response"], json({{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"}, {"allowed", true}}));

  r.group = "";  // core group ("" is a real group, not a missing one)
  EXPECT_FALSE(Answer(r)["response"].contains("patch"));

  r.group = "automation.astronetes.io";
  r.operation = "DELETE";
  r.old_object = LiveSync();
  r.object = nullptr;
  answer = Answer(r);
  EXPECT_EQ(answer["response"], json({{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"}, {"allowed", true}}));
}

TEST_F(ReviewTest, UserWithoutUidGetsAStableNameBasedUuid) {
  Request r;
  r.object = LiveSync();
  r.user_info = {{"username", "system:serviceaccount:preproduction:microservice1"}};
  // uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, "audit.astronetes.io"), username) in Python.
  EXPECT_EQ(Patched(r)["metadata"]["annotations"][kUid], "c5ea7866-03c0-5af0-ae55-2d2ef954cff9");
  EXPECT_EQ(AuditUserUid({{"username", "alice"}, {"uid", ""}}), "f98dc9b3-7d1e-57fe-95e5-f09db93c91f0");
  EXPECT_EQ(AuditUserUid({{"username", "alice"}, {"uid", "1234"}}), "1234");
  EXPECT_EQ(AuditUserUid(json::object()), "");
}

TEST(FormatAuditTimeTest, TrimsTrailingZerosLikeGo) {
  EXPECT_EQ(FormatAuditTime(kNow), kNowText);
  EXPECT_EQ(FormatAuditTime(WallTime(std::chrono::seconds(1'707'487'530))), "2024-02-09T14:05:30Z");
  EXPECT_EQ(FormatAuditTime(WallTime(std::chrono::milliseconds(1'707'487'530'500))),
            "2024-02-09T14:05:30.5Z");
  EXPECT_EQ(FormatAuditTime(WallTime(std::chrono::nanoseconds(1'707'487'530'000'000'001))),
            "2024-02-09T14:05:30.000000001Z");
}

TEST_F(ReviewTest, AdmissionV1beta1IsAnsweredInV1beta1) {
  Request r;
  r.object = LiveSync();
  json review = MakeReview(r);
  review["apiVersion"] = "admission.k8s.io/v1beta1";
  const json answer = Review(review, clock_);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(answer["response"]["patchType"], "JSONPatch");
}

// Malformed reviews are allowed unchanged with a warning: the webhook never blocks writes.
struct MalformedCase {
  const char* name;
  json review;
  std::string uid;
  std::string warning;
};

class MalformedReviewTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedReviewTest, AllowsWithoutPatchAndWarns) {
  const testing::FakeClock clock(kNow);
  const json answer = Review(GetParam().review, clock);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], GetParam().uid);
  EXPECT_EQ(answer["response"]["allowed"], true);
  EXPECT_FALSE(answer["response"].contains("patch"));
  EXPECT_FALSE(answer["response"].contains("patchType"));
  EXPECT_EQ(answer["response"]["warnings"], json::array({"kubesync audit webhook: " + GetParam().warning}));
}

json RequestWith(json request) {
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

const json kOurKind = {{"group", "assets.astronetes.io"}, {"version", "v1alpha1"}, {"kind", "Bucket"}};

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedReviewTest,
    ::testing::Values(
        MalformedCase{"NotAnObject", json::array({1, 2}), "",
                      "the AdmissionReview is not a JSON object; object left unchanged"},
        MalformedCase{"NoRequest",
                      {{"apiVersion", "admission.k8s.io/v1"}},
                      "",
                      "the AdmissionReview has no request; object left unchanged"},
        MalformedCase{"NoUid", RequestWith({{"kind", kOurKind}, {"operation", "CREATE"}}), "",
                      "request.uid is missing; object left unchanged"},
        MalformedCase{"NoKind",
                      RequestWith({{"uid", "u1"}, {"operation", "CREATE"}, {"object", json::object()}}), "u1",
                      "request.kind.group is missing; object left unchanged"},
        MalformedCase{"NoObject", RequestWith({{"uid", "u2"}, {"kind", kOurKind}, {"operation", "CREATE"}}),
                      "u2", "request.object is missing on CREATE; object left unchanged"},
        MalformedCase{"NoOldObject",
                      RequestWith({{"uid", "u3"},
                                   {"kind", kOurKind},
                                   {"operation", "UPDATE"},
                                   {"object", {{"spec", 1}}},
                                   {"oldObject", nullptr}}),
                      "u3", "request.oldObject is missing on UPDATE; object left unchanged"},
        MalformedCase{"MetadataNotAnObject",
                      RequestWith({{"uid", "u4"},
                                   {"kind", kOurKind},
                                   {"operation", "CREATE"},
                                   {"object", {{"metadata", "x"}}}}),
                      "u4", "request.object.metadata is not an object; object left unchanged"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return std::string(info.param.name); });

TEST(RequestUidTest, OnlyANonEmptyString) {
  EXPECT_EQ(RequestUid(RequestWith({{"uid", "abc"}})), "abc");
  EXPECT_EQ(RequestUid(RequestWith({{"uid", ""}})), std::nullopt);
  EXPECT_EQ(RequestUid(RequestWith({{"uid", 7}})), std::nullopt);
  EXPECT_EQ(RequestUid(json::array()), std::nullopt);
}

TEST_F(ReviewTest, UnexpectedApiVersionStillAnswersInV1WithAWarning) {
  Request r;
  r.object = LiveSync();
  json review = MakeReview(r);
  review["apiVersion"] = "admission.k8s.io/v2";
  const json answer = Review(review, clock_);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["response"]["warnings"],
            json::array({"kubesync audit webhook: unexpected AdmissionReview apiVersion "
                         "\"admission.k8s.io/v2\"; answering admission.k8s.io/v1"}));
  EXPECT_EQ(answer["response"]["patchType"], "JSONPatch");
}

std::string Nested(std::size_t depth, const std::string& open, const std::string& close) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += open;
  out += "0";
  for (std::size_t i = 0; i < depth; ++i) out += close;
  return out;
}

TEST(AnswerReviewBodyTest, TooDeepNamesThePathThroughArraysAndKeepsTheUidFoundAfterIt) {
  testing::FakeClock clock(kNow);
  // request.uid after the deep part, and a v1beta1 review: both still honoured.
  const std::string body = R"({"apiVersion":"admission.k8s.io/v1beta1","request":{"name":"ls1","object":)"
                           R"({"spec":{"items":[1,2,)" +
                           Nested(5000, "[", "]") + R"(]}},"uid":"u-1","namespace":"dr"}})";
  const ReviewReply reply = AnswerReviewBody(body, clock);
  ASSERT_EQ(reply.http_status, 200);
  EXPECT_EQ(reply.body["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(reply.body["response"]["uid"], "u-1");
  EXPECT_EQ(reply.body["response"]["allowed"], false);
  const std::string message = reply.body["response"]["status"]["message"];
  EXPECT_EQ(message.rfind("request.object.spec.items[2][0][0]", 0), 0u) << message;
  EXPECT_NE(message.find("nested more than 128 levels deep (5005)"), std::string::npos) << message;
  EXPECT_EQ(reply.object, "dr/ls1");
}

TEST(AnswerReviewBodyTest, TooDeepWithoutUidIsA400Status) {
  testing::FakeClock clock(kNow);
  const ReviewReply reply = AnswerReviewBody(R"({"request":)" + Nested(200, "{\"k\":", "}") + "}", clock);
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_EQ(reply.body["kind"], "Status");
  EXPECT_EQ(reply.body["reason"], "BadRequest");
  EXPECT_EQ(reply.body["message"].get<std::string>().rfind("request.k.k.k", 0), 0u);
}

TEST(AnswerReviewBodyTest, AtTheDepthLimitTheReviewIsAnswered) {
  testing::FakeClock clock(kNow);
  // review(1) > request(2) > object(3) > 125 arrays under spec = 128 levels.
  const std::string body =
      R"({"apiVersion":"admission.k8s.io/v1","request":{"uid":"u-2","kind":{"group":"apps"},"operation":"CREATE","object":)"
      R"({"spec":)" +
      Nested(kMaxReviewDepth - 3, "[", "]") + "}}}";
  const ReviewReply reply = AnswerReviewBody(body, clock);
  ASSERT_EQ(reply.http_status, 200);
  EXPECT_EQ(reply.body["response"], json({{"uid", "u-2"}, {"allowed", true}}));
  EXPECT_EQ(reply.refusal, "");
  const ReviewReply deeper = AnswerReviewBody(
      R"({"request":{"uid":"u-2","object":{"spec":)" + Nested(kMaxReviewDepth - 2, "[", "]") + "}}}", clock);
  EXPECT_EQ(deeper.body["response"]["allowed"], false);
}

TEST(AnswerReviewBodyTest, NotJsonAndNoUidAreStatuses) {
  testing::FakeClock clock(kNow);
  ReviewReply reply = AnswerReviewBody("{\"request\":", clock);
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_EQ(reply.body["message"], "the request body is not a JSON AdmissionReview");
  reply = AnswerReviewBody(R"({"request":{"uid":""}})", clock);
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_EQ(reply.body["message"], "the AdmissionReview has no request.uid");
  // Too large without a uid to answer: 413 Status.
  reply = AnswerReviewBody("[\"" + std::string(kMaxReviewBytes, 'x') + "\"]", clock);
  EXPECT_EQ(reply.http_status, 413);
  EXPECT_EQ(reply.body["reason"], "RequestEntityTooLarge");
}

}  // namespace
}  // namespace kubesync::admission
