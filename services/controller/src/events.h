// Kubernetes Events about kubesync's custom resources, so that `kubectl describe` tells
// what the controller did: sets started, stopped, restarted, configs refused, recoveries.
// Like client-go's recorder: one Event object per distinct (object, type, reason,
// message), and a repeat bumps its count and lastTimestamp instead of creating another.
// Best effort: a failure to record is logged, never returned.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tuple>

#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"

namespace kubesync::controller {

inline constexpr std::string_view kEventNormal = "Normal";
inline constexpr std::string_view kEventWarning = "Warning";

class EventRecorder {
 public:
  EventRecorder(std::string component, log::Logger logger, const Clock* clock = &SystemClock::Get());

  // `object` needs apiVersion, kind and metadata (name, namespace, uid). The Event goes to
  // the object's namespace in `client`'s cluster.
  void Record(kube::Client& client, const nlohmann::json& object, std::string_view type,
              std::string_view reason, const std::string& message);

  // At most this many (object, type, reason, message) are remembered for counting repeats.
  static constexpr size_t kMaxSeen = 1024;
  size_t remembered() const {
    std::lock_guard lock(mu_);
    return seen_.size();
  }

 private:
  struct Seen {
    std::string event_name;
    std::string ns;
    int64_t count = 0;
    WallTime last;  // last recorded
  };
  // Keeps seen_ bounded: entries older than the Events' own TTL (1 h) go first, all of
  // them past kMaxSeen (a crash-looping component's messages differ by their counters).
  void Prune(WallTime now);

  std::string component_;
  std::string instance_;
  log::Logger logger_;
  const Clock* clock_;
  mutable std::mutex mu_;
  // (client, uid, type, reason, message) -> the Event written for it.
  std::map<std::tuple<const kube::Client*, std::string, std::string, std::string, std::string>, Seen> seen_;
};

}  // namespace kubesync::controller
