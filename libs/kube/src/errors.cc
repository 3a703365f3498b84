#include "kubesync/kube/errors.h"

#include <string>

namespace kubesync::kube {
namespace {

using nlohmann::json;

// Reasons the apiserver uses for codes (k8s.io/apimachinery/pkg/api/errors).
std::string ReasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

Code CodeFor(std::string_view reason, int http) {
  if (reason == "NotFound") return Code::kNotFound;
  if (reason == "AlreadyExists") return Code::kAlreadyExists;
  if (reason == "Conflict") return Code::kAborted;
  if (reason == "Gone" || reason == "Expired") return Code::kOutOfRange;
  if (reason == "Unauthorized") return Code::kUnauthenticated;
  if (reason == "Forbidden") return Code::kPermissionDenied;
  if (reason == "Invalid" || reason == "BadRequest" || reason == "UnsupportedMediaType" ||
      reason == "RequestEntityTooLarge" || reason == "NotAcceptable") {
    return Code::kInvalidArgument;
  }
  if (reason == "MethodNotAllowed") return Code::kUnimplemented;
  if (reason == "TooManyRequests" || reason == "ServiceUnavailable" || reason == "InternalError" ||
      reason == "Timeout" || reason == "ServerTimeout") {
    return Code::kUnavailable;
  }
  switch (http) {
    case 400:
    case 413:
    case 415:
    case 422:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 405:
      return Code::kUnimplemented;
    case 409:
      return Code::kAborted;
    case 410:
      return Code::kOutOfRange;
    case 429:
      return Code::kUnavailable;
    default:
      break;
  }
  if (http >= 500) return Code::kUnavailable;
  return Code::kUnknown;
}

}  // namespace

Status StatusFromApiStatus(const json& status, int fallback_code) {
  int code = fallback_code;
  std::string reason;
  std::string message;
  if (status.is_object()) {
    if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) {
      code = it->get<int>();
    }
    if (auto it = status.find("reason"); it != status.end() && it->is_string()) {
      reason = it->get<std::string>();
    }
    if (auto it = status.find("message"); it != status.end() && it->is_string()) {
      message = it->get<std::string>();
    }
  }
  if (reason.empty()) {
    reason = ReasonForCode(code);
  }
  if (message.empty()) {
    message = "the server reported " + (reason.empty() ? std::string("an error") : reason) + " (HTTP " +
              std::to_string(code) + ")";
  }
  Status s(CodeFor(reason, code), message);
  s.WithHttp(code, reason);
  return s;
}

Status StatusFromResponse(int http_status, std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "Status") {
    // The HTTP code is authoritative; the body's code fills in when they agree.
    parsed["code"] = http_status;
    return StatusFromApiStatus(parsed, http_status);
  }
  json synthetic = {{"code", http_status}};
  std::string text(body.substr(0, 200));
  if (!text.empty()) {
    synthetic["message"] = "HTTP " + std::to_string(http_status) + ": " + text;
  }
  return StatusFromApiStatus(synthetic, http_status);
}

}  // namespace kubesync::kube
