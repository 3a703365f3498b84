// The audit admission webhook's decision (reference manual 5.1.4.1 "Audit fields"):
// kubesync's own custom resources (groups assets.astronetes.io and
// automation.astronetes.io) carry three annotations naming who last changed them and when:
//   audit.astronetes.io/last-update-time      "2024-02-09T14:05:30.67520525Z"
//   audit.astronetes.io/last-update-user-uid  "b3fd2a87-0547-4ff7-a49f-cce903cc2b61"
//   audit.astronetes.io/last-update-username  "system:serviceaccount:preproduction:microservice1"
// They are set on CREATE, and on UPDATE only when .spec, .metadata.labels or
// .metadata.annotations (other than these three) changed; status writes (the /status
// subresource) and metadata-only writes such as finalizers are not recorded. Objects of any
// other group (the synchronized objects) never get them.
//
// Review() is pure: the same AdmissionReview and clock reading give the same answer. It never
// denies a request: a review it cannot make sense of is allowed unchanged, with a warning
// that the API server passes on to the client (a webhook bug must not block users' writes).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kubesync/core/clock.h"

namespace kubesync::admission {

inline constexpr std::string_view kLastUpdateTimeAnnotation = "audit.astronetes.io/last-update-time";
inline constexpr std::string_view kLastUpdateUserUidAnnotation = "audit.astronetes.io/last-update-user-uid";
inline constexpr std::string_view kLastUpdateUsernameAnnotation = "audit.astronetes.io/last-update-username";

// The API groups whose objects are audited.
inline constexpr std::string_view kAssetsGroup = "assets.astronetes.io";
inline constexpr std::string_view kAutomationGroup = "automation.astronetes.io";

// Bounds on an AdmissionReview body, checked by a streaming scan before any document is
// built (a deeper document would overflow the stack of any recursive walk: comparing,
// copying or printing it). The API server caps a request at 3 MiB and an object in etcd at
// 1.5 MiB, and a review carries object and oldObject, so 8 MiB is never reached by a real
// write. kubesync's own objects nest about 10 levels; the API server's own JSON decoder
// stops at 10000 (kubernetes/kubernetes#83840), far past what a webhook needs.
inline constexpr std::size_t kMaxReviewBytes = 8u << 20;
inline constexpr std::size_t kMaxReviewDepth = 128;

// Answers an admission.k8s.io/v1 AdmissionReview request with the AdmissionReview response:
// same apiVersion (v1, or v1beta1 when asked in v1beta1), kind AdmissionReview, response.uid
// = request.uid, allowed true, and when the object must be stamped a base64 JSONPatch
// (patchType "JSONPatch") that adds or replaces the three annotations, creating
// metadata.annotations when absent. Malformed input gives allowed true, no patch and a
// `warnings` entry. A review without request.uid cannot be answered meaningfully: the
// response then has an empty uid (the HTTP server answers 400 before calling this; see
// RequestUid). Never throws.
nlohmann::json Review(const nlohmann::json& admission_review, const Clock& clock);

// What the webhook's HTTP endpoint answers for a request body (server.h calls this; the
// fuzz target feeds it any bytes). Checks size and nesting with a streaming scan first,
// then parses and calls Review():
//   200 + AdmissionReview allowed true     a review it could read (Review above);
//   200 + AdmissionReview allowed false    a review with a request.uid that is larger than
//        with response.status {code,      kMaxReviewBytes (413, RequestEntityTooLarge) or
//        reason, message}                 nests deeper than kMaxReviewDepth (400,
//                                         BadRequest; the message names the path);
//   400/413 + a v1 Status                 no AdmissionReview can be answered: not JSON, or
//                                         no request.uid (the API server's failurePolicy
//                                         then decides).
// Never throws, never recurses deeper than kMaxReviewDepth whatever the body.
struct ReviewReply {
  int http_status = 200;
  nlohmann::json body;  // AdmissionReview, or Status when http_status != 200
  std::string refusal;  // why the review was denied or refused ("" when answered); for logs
  std::string object;   // "namespace/name" of the request, when known; for logs
};
ReviewReply AnswerReviewBody(std::string_view body, const Clock& clock);

// request.uid when it is a non-empty string.
std::optional<std::string> RequestUid(const nlohmann::json& admission_review);

// The value of audit.astronetes.io/last-update-user-uid for a request's userInfo:
// userInfo.uid when non-empty (service accounts, most OIDC users); otherwise a stable,
// name-based UUID (RFC 4122 version 5, SHA-1) of userInfo.username in the namespace
// UUIDv5(DNS, "audit.astronetes.io") = 98df5020-9eb9-5594-af28-e099840c43f6, so users
// without a uid (client certificates, static tokens) still get a value shaped like a uid
// that is the same on every write; empty when there is no username either.
std::string AuditUserUid(const nlohmann::json& user_info);

// RFC 3339 in UTC with the fraction trimmed of trailing zeros, as Go's time.RFC3339Nano
// prints it ("2024-02-09T14:05:30.67520525Z", "2024-02-09T14:05:30Z").
std::string FormatAuditTime(WallTime t);

}  // namespace kubesync::admission
