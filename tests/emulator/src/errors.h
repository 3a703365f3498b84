// Kubernetes `Status` error bodies, exactly as kube-apiserver writes them (apimachinery
// pkg/api/errors): reason, code, details.{name,kind,causes,retryAfterSeconds}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kubesync::emulator {

struct Cause {
  std::string reason;
  std::string message;
  std::string field;
};

// An API error: what the handler answers instead of an object.
struct ApiError {
  int code = 500;
  std::string reason;  // "NotFound", "Conflict", ...; empty for some 4xx/5xx
  std::string message;
  std::string name;   // details.name
  std::string group;  // details.group
  std::string kind;   // details.kind: plural resource for most errors, Kind for Invalid
  std::vector<Cause> causes;
  int retry_after_seconds = 0;  // > 0: details.retryAfterSeconds and Retry-After header

  nlohmann::json ToJson() const;
};

// "<resource>[.group] \"name\"" as in the real messages (configmaps "a", deployments.apps "d").
std::string QualifiedName(const std::string& group, const std::string& resource, const std::string& name);

ApiError NotFound(const std::string& group, const std::string& resource, const std::string& name);
ApiError AlreadyExists(const std::string& group, const std::string& resource, const std::string& name);
ApiError Conflict(const std::string& group, const std::string& resource, const std::string& name,
                  const std::string& why);
ApiError BadRequest(const std::string& message);
ApiError Invalid(const std::string& group, const std::string& kind, const std::string& name,
                 std::vector<Cause> causes);
ApiError Forbidden(const std::string& group, const std::string& resource, const std::string& name,
                   const std::string& why);
ApiError MethodNotAllowed(const std::string& message);
ApiError UnsupportedMediaType(const std::string& content_type);
ApiError Gone(const std::string& message);     // reason Gone
ApiError Expired(const std::string& message);  // reason Expired, 410
ApiError Internal(const std::string& message);
ApiError PathNotFound();  // "the server could not find the requested resource"
ApiError Unauthorized();
ApiError TooManyRequests(int retry_after_seconds);
ApiError ServiceUnavailable(int retry_after_seconds);

}  // namespace kubesync::emulator
