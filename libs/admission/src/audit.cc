#include "kubesync/admission/audit.h"

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "kubesync/core/base64.h"

namespace kubesync::admission {
namespace {

using nlohmann::json;

constexpr std::string_view kAdmissionV1 = "admission.k8s.io/v1";
constexpr std::string_view kAdmissionV1beta1 = "admission.k8s.io/v1beta1";
constexpr std::string_view kWarningPrefix = "kubesync audit webhook: ";

using Uuid = std::array<unsigned char, 16>;

// RFC 4122 section 4.3: SHA-1 over namespace bytes + name, version 5, variant 10.
Uuid NameBasedUuid(const Uuid& ns, std::string_view name) {
  std::string input(reinterpret_cast<const char*>(ns.data()), ns.size());
  input.append(name);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr);
  Uuid out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = digest[i];
  }
  out[6] = static_cast<unsigned char>((out[6] & 0x0f) | 0x50);
  out[8] = static_cast<unsigned char>((out[8] & 0x3f) | 0x80);
  return out;
}

std::string UuidString(const Uuid& u) {
  std::string out;
  char hex[3];
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    std::snprintf(hex, sizeof(hex), "%02x", u[i]);
    out += hex;
  }
  return out;
}

// 6ba7b810-9dad-11d1-80b4-00c04fd430c8, RFC 4122 appendix C.
constexpr Uuid kDnsNamespace = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

const Uuid& AuditNamespace() {
  static const Uuid ns = NameBasedUuid(kDnsNamespace, "audit.astronetes.io");
  return ns;
}

// RFC 6901: '~' -> "~0", '/' -> "~1".
std::string EscapePointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

const json* Member(const json& object, std::string_view key) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringMember(const json& object, std::string_view key) {
  const json* v = Member(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// A field as compared between object and oldObject: absent and null are the same.
json FieldOrNull(const json& object, std::string_view key) {
  const json* v = Member(object, key);
  return v == nullptr ? json(nullptr) : *v;
}

// A string map (labels, annotations) as compared: absent, null and {} are all "empty".
json MapOrEmpty(const json& metadata, std::string_view key) {
  const json* v = Member(metadata, key);
  if (v == nullptr || v->is_null()) {
    return json::object();
  }
  return *v;
}

json AnnotationsWithoutAudit(const json& metadata) {
  json annotations = MapOrEmpty(metadata, "annotations");
  if (annotations.is_object()) {
    annotations.erase(std::string(kLastUpdateTimeAnnotation));
    annotations.erase(std::string(kLastUpdateUserUidAnnotation));
    annotations.erase(std::string(kLastUpdateUsernameAnnotation));
  }
  return annotations;
}

// True when the write changes what the audit fields record: spec, labels, or annotations
// other than the audit annotations themselves.
bool RecordedFieldsChanged(const json& object, const json& old_object) {
  if (FieldOrNull(object, "spec") != FieldOrNull(old_object, "spec")) {
    return true;
  }
  const json metadata = FieldOrNull(object, "metadata");
  const json old_metadata = FieldOrNull(old_object, "metadata");
  return MapOrEmpty(metadata, "labels") != MapOrEmpty(old_metadata, "labels") ||
         AnnotationsWithoutAudit(metadata) != AnnotationsWithoutAudit(old_metadata);
}

// The JSONPatch operations that give `object` the three audit annotations.
json AuditPatch(const json& object, const json& values) {
  const json* metadata = Member(object, "metadata");
  if (metadata == nullptr || metadata->is_null()) {
    return json::array({{{"op", "add"}, {"path", "/metadata"}, {"value", {{"annotations", values}}}}});
  }
  const json* annotations = Member(*metadata, "annotations");
  if (annotations == nullptr || !annotations->is_object()) {
    // Absent or null: `add` creates (or replaces the null) member.
    return json::array({{{"op", "add"}, {"path", "/metadata/annotations"}, {"value", values}}});
  }
  json ops = json::array();
  for (const auto& [key, value] : values.items()) {
    ops.push_back({{"op", annotations->contains(key) ? "replace" : "add"},
                   {"path", "/metadata/annotations/" + EscapePointerToken(key)},
                   {"value", value}});
  }
  return ops;
}

// The patch for `request`, or null when the object is left alone. Problems with the
// request's shape go to `warnings`.
json Decide(const json& request, const Clock& clock, std::vector<std::string>& warnings) {
  if (!StringMember(request, "subResource").empty()) {
    return nullptr;  // status (or scale) writes are not recorded
  }
  const json* kind = Member(request, "kind");
  const json* group = kind == nullptr ? nullptr : Member(*kind, "group");
  if (group == nullptr || !group->is_string()) {
    warnings.push_back("request.kind.group is missing; object left unchanged");
    return nullptr;
  }
  const std::string group_name = group->get<std::string>();
  if (group_name != kAssetsGroup && group_name != kAutomationGroup) {
    return nullptr;
  }
  const std::string operation = StringMember(request, "operation");
  if (operation != "CREATE" && operation != "UPDATE") {
    return nullptr;  // DELETE and CONNECT have nothing to stamp
  }
  const json* object = Member(request, "object");
  if (object == nullptr || !object->is_object()) {
    warnings.push_back("request.object is missing on " + operation + "; object left unchanged");
    return nullptr;
  }
  const json* metadata = Member(*object, "metadata");
  if (metadata != nullptr && !metadata->is_object() && !metadata->is_null()) {
    warnings.push_back("request.object.metadata is not an object; object left unchanged");
    return nullptr;
  }
  if (operation == "UPDATE") {
    const json* old_object = Member(request, "oldObject");
    if (old_object == nullptr || !old_object->is_object()) {
      warnings.push_back("request.oldObject is missing on UPDATE; object left unchanged");
      return nullptr;
    }
    if (!RecordedFieldsChanged(*object, *old_object)) {
      return nullptr;
    }
  }
  const json* user_info = Member(request, "userInfo");
  const json no_user = json::object();
  const json& user = user_info != nullptr ? *user_info : no_user;
  const json values = {
      {std::string(kLastUpdateTimeAnnotation), FormatAuditTime(clock.Now())},
      {std::string(kLastUpdateUserUidAnnotation), AuditUserUid(user)},
      {std::string(kLastUpdateUsernameAnnotation), StringMember(user, "username")},
  };
  return AuditPatch(*object, values);
}

}  // namespace

std::optional<std::string> RequestUid(const nlohmann::json& admission_review) {
  const json* request = Member(admission_review, "request");
  if (request == nullptr) {
    return std::nullopt;
  }
  std::string uid = StringMember(*request, "uid");
  if (uid.empty()) {
    return std::nullopt;
  }
  return uid;
}

std::string AuditUserUid(const nlohmann::json& user_info) {
  std::string uid = StringMember(user_info, "uid");
  if (!uid.empty()) {
    return uid;
  }
  const std::string username = StringMember(user_info, "username");
  if (username.empty()) {
    return "";
  }
  return UuidString(NameBasedUuid(AuditNamespace(), username));
}

std::string FormatAuditTime(WallTime t) {
  std::string text = FormatRfc3339(t, 9);  // "...:SS.nnnnnnnnnZ"
  text.pop_back();                         // 'Z'
  while (text.back() == '0') {
    text.pop_back();
  }
  if (text.back() == '.') {
    text.pop_back();
  }
  return text + 'Z';
}

// What the API server checks in a webhook's answer (k8s.io/apiserver
// pkg/admission/plugin/webhook/request/admissionreview.go, VerifyAdmissionResponse): for v1
// the reply must be apiVersion admission.k8s.io/v1, kind AdmissionReview, response.uid
// equal to request.uid, and patch and patchType must come together (v1beta1 replies are not
// checked for GVK or uid). `warnings` are passed to the client as Warning headers. Any
// other outcome (unparseable reply, non-200, timeout) is a webhook call failure, which the
// configuration's failurePolicy turns into a rejected (Fail) or unchanged (Ignore) write.
nlohmann::json Review(const nlohmann::json& admission_review, const Clock& clock) {
  std::vector<std::string> warnings;
  std::string api_version(kAdmissionV1);
  const json* request = nullptr;
  if (!admission_review.is_object()) {
    warnings.push_back("the AdmissionReview is not a JSON object; object left unchanged");
  } else {
    const std::string requested_version = StringMember(admission_review, "apiVersion");
    if (requested_version == kAdmissionV1beta1) {
      api_version = requested_version;
    } else if (requested_version != kAdmissionV1) {
      warnings.push_back("unexpected AdmissionReview apiVersion \"" + requested_version +
                         "\"; answering admission.k8s.io/v1");
    }
    request = Member(admission_review, "request");
    if (request == nullptr || !request->is_object()) {
      warnings.push_back("the AdmissionReview has no request; object left unchanged");
      request = nullptr;
    }
  }
  const std::optional<std::string> uid = RequestUid(admission_review);
  json patch = nullptr;
  if (request != nullptr) {
    if (!uid) {
      warnings.push_back("request.uid is missing; object left unchanged");
    } else {
      patch = Decide(*request, clock, warnings);
    }
  }

  json response = {{"uid", uid.value_or("")}, {"allowed", true}};
  if (!patch.is_null()) {
    response["patchType"] = "JSONPatch";
    // Values came out of a parsed document or our own formatting, so they are valid UTF-8;
    // `replace` keeps dump() from throwing should a caller hand us anything else.
    response["patch"] = Base64Encode(patch.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (!warnings.empty()) {
    json list = json::array();
    for (const std::string& w : warnings) {
      list.push_back(std::string(kWarningPrefix) + w);
    }
    response["warnings"] = std::move(list);
  }
  return {{"apiVersion", api_version}, {"kind", "AdmissionReview"}, {"response", std::move(response)}};
}

}  // namespace kubesync::admission
