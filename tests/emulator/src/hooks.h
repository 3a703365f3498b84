// State behind the /emulator/ test hooks: injected faults and request counters.
// Thread-safe; both are touched once per API request.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "errors.h"
#include "kubesync/core/status.h"

namespace kubesync::emulator {

struct Fault {
  std::string verb = "*";
  std::string resource = "*";
  int count = 1;
  int code = 500;
  int retry_after_seconds = 1;
  int latency_ms = 0;
};

Result<Fault> ParseFault(const nlohmann::json& body);

// What a matched fault does to one request.
struct FaultAction {
  int latency_ms = 0;
  std::optional<ApiError> error;
};

class Faults {
 public:
  void Add(Fault fault);
  void Clear();
  // Consumes one use of the first fault matching verb/resource.
  FaultAction Match(const std::string& verb, const std::string& resource);

 private:
  std::mutex mu_;
  std::vector<Fault> faults_;
};

class Counters {
 public:
  void Count(const std::string& verb, const std::string& resource, const std::string& user);
  void Reset();
  nlohmann::json ToJson() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, long> counts_;
};

}  // namespace kubesync::emulator
