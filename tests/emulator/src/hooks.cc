#include "hooks.h"

namespace kubesync::emulator {

Result<Fault> ParseFault(const nlohmann::json& body) {
  if (!body.is_object()) return InvalidArgumentError("fault must be a JSON object");
  Fault f;
  try {
    f.verb = body.value("verb", "*");
    f.resource = body.value("resource", "*");
    f.count = body.value("count", 1);
    f.code = body.value("code", 500);
    f.retry_after_seconds = body.value("retryAfterSeconds", 1);
    f.latency_ms = body.value("latencyMs", 0);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("bad fault: ") + e.what());
  }
  if (f.count <= 0) return InvalidArgumentError("count must be positive");
  if (f.code != 0 && (f.code < 400 || f.code > 599)) return InvalidArgumentError("code must be 0 or 4xx/5xx");
  if (f.code == 0 && f.latency_ms <= 0) return InvalidArgumentError("code 0 needs latencyMs > 0");
  return f;
}

void Faults::Add(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

void Faults::Clear() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

FaultAction Faults::Match(const std::string& verb, const std::string& resource) {
  std::lock_guard lock(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if ((it->verb != "*" && it->verb != verb) || (it->resource != "*" && it->resource != resource)) continue;
    FaultAction action;
    action.latency_ms = it->latency_ms;
    switch (it->code) {
      case 0:
        break;
      case 429:
        action.error = TooManyRequests(it->retry_after_seconds);
        break;
      case 503:
        action.error = ServiceUnavailable(it->retry_after_seconds);
        break;
      case 500:
        action.error = Internal("injected fault");
        break;
      case 504:
        action.error =
            ApiError{504, "Timeout", "the server was unable to return a response in the time allotted"};
        break;
      default:
        action.error = ApiError{it->code, "", "injected fault"};
        break;
    }
    if (--it->count <= 0) faults_.erase(it);
    return action;
  }
  return {};
}

void Counters::Count(const std::string& verb, const std::string& resource, const std::string& user) {
  std::lock_guard lock(mu_);
  ++counts_[{verb, resource, user}];
}

void Counters::Reset() {
  std::lock_guard lock(mu_);
  counts_.clear();
}

nlohmann::json Counters::ToJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [k, n] : counts_) {
    list.push_back(
        {{"verb", std::get<0>(k)}, {"resource", std::get<1>(k)}, {"user", std::get<2>(k)}, {"count", n}});
  }
  return {{"requests", list}};
}

}  // namespace kubesync::emulator
