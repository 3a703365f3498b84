#include "errors.h"

namespace kubesync::emulator {

nlohmann::json ApiError::ToJson() const {
  nlohmann::json j = {{"kind", "Status"},
                      {"apiVersion", "v1"},
                      {"metadata", nlohmann::json::object()},
                      {"status", "Failure"},
                      {"message", message}};
  if (!reason.empty()) j["reason"] = reason;
  nlohmann::json details = nlohmann::json::object();
  if (!name.empty()) details["name"] = name;
  if (!group.empty()) details["group"] = group;
  if (!kind.empty()) details["kind"] = kind;
  if (!causes.empty()) {
    nlohmann::json cs = nlohmann::json::array();
    for (const auto& c : causes) {
      nlohmann::json cj = nlohmann::json::object();
      if (!c.reason.empty()) cj["reason"] = c.reason;
      if (!c.message.empty()) cj["message"] = c.message;
      if (!c.field.empty()) cj["field"] = c.field;
      cs.push_back(std::move(cj));
    }
    details["causes"] = std::move(cs);
  }
  if (retry_after_seconds > 0) details["retryAfterSeconds"] = retry_after_seconds;
  if (!details.empty()) j["details"] = std::move(details);
  j["code"] = code;
  return j;
}

std::string QualifiedName(const std::string& group, const std::string& resource, const std::string& name) {
  std::string gr = group.empty() ? resource : resource + "." + group;
  return gr + " \"" + name + "\"";
}

ApiError NotFound(const std::string& group, const std::string& resource, const std::string& name) {
  return {404, "NotFound", QualifiedName(group, resource, name) + " not found", name, group, resource};
}

ApiError AlreadyExists(const std::string& group, const std::string& resource, const std::string& name) {
  return {409,  "AlreadyExists", QualifiedName(group, resource, name) + " already exists",
          name, group,           resource};
}

ApiError Conflict(const std::string& group, const std::string& resource, const std::string& name,
                  const std::string& why) {
  return {409,
          "Conflict",
          "Operation cannot be fulfilled on " + QualifiedName(group, resource, name) + ": " + why,
          name,
          group,
          resource};
}

ApiError BadRequest(const std::string& message) { return {400, "BadRequest", message}; }

ApiError Invalid(const std::string& group, const std::string& kind, const std::string& name,
                 std::vector<Cause> causes) {
  // errors.NewInvalid: the aggregate of field errors, bracketed when there are several.
  std::string msg = (group.empty() ? kind : kind + "." + group) + " \"" + name + "\" is invalid: ";
  if (causes.size() > 1) msg += "[";
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += causes[i].field.empty() ? causes[i].message : causes[i].field + ": " + causes[i].message;
  }
  if (causes.size() > 1) msg += "]";
  ApiError e{422, "Invalid", msg, name, group, kind};
  e.causes = std::move(causes);
  return e;
}

ApiError Forbidden(const std::string& group, const std::string& resource, const std::string& name,
                   const std::string& why) {
  return {403,  "Forbidden", QualifiedName(group, resource, name) + " is forbidden: " + why,
          name, group,       resource};
}

ApiError MethodNotAllowed(const std::string& message) { return {405, "MethodNotAllowed", message}; }

ApiError UnsupportedMediaType(const std::string& content_type) {
  return {415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: "
          "application/json-patch+json, application/merge-patch+json, "
          "application/apply-patch+yaml (got \"" +
              content_type + "\")"};
}

ApiError Gone(const std::string& message) { return {410, "Gone", message}; }
ApiError Expired(const std::string& message) { return {410, "Expired", message}; }
ApiError Internal(const std::string& message) {
  return {500, "InternalError", "Internal error occurred: " + message};
}
ApiError PathNotFound() { return {404, "NotFound", "the server could not find the requested resource"}; }
ApiError Unauthorized() { return {401, "Unauthorized", "Unauthorized"}; }

ApiError TooManyRequests(int retry_after_seconds) {
  ApiError e{429, "TooManyRequests",
             "the server has received too many requests and has asked us to try again later"};
  e.retry_after_seconds = retry_after_seconds;
  return e;
}

ApiError ServiceUnavailable(int retry_after_seconds) {
  ApiError e{503, "ServiceUnavailable", "the server is currently unable to handle the request"};
  e.retry_after_seconds = retry_after_seconds;
  return e;
}

}  // namespace kubesync::emulator
