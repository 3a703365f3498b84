// Kubernetes API errors as kubesync Status values. The Status keeps the HTTP code and the
// API `reason` (Status::http_status(), Status::reason()); the Code says what to do:
//   NotFound 404 -> kNotFound          AlreadyExists 409 -> kAlreadyExists
//   Conflict 409 -> kAborted           Gone/Expired 410  -> kOutOfRange (re-list)
//   Unauthorized 401 -> kUnauthenticated   Forbidden 403 -> kPermissionDenied
//   Invalid 422, BadRequest 400, UnsupportedMediaType 415 -> kInvalidArgument
//   TooManyRequests 429, InternalError 500, ServiceUnavailable 503, Timeout 504 -> kUnavailable
// Like client-go, the reason decides first, the code when the reason is empty or unknown.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "kubesync/core/status.h"

namespace kubesync::kube {

// From an HTTP reply that is not 2xx; `body` is usually a metav1.Status.
Status StatusFromResponse(int http_status, std::string_view body);
// From a metav1.Status object (e.g. a watch ERROR event's object).
Status StatusFromApiStatus(const nlohmann::json& status, int fallback_code = 500);

// Helpers for callers.
inline bool IsNotFound(const Status& s) { return s.code() == Code::kNotFound; }
inline bool IsAlreadyExists(const Status& s) { return s.code() == Code::kAlreadyExists; }
inline bool IsConflict(const Status& s) { return s.reason() == "Conflict"; }
inline bool IsGone(const Status& s) {
  return s.http_status() == 410 || s.reason() == "Expired" || s.reason() == "Gone";
}

}  // namespace kubesync::kube
