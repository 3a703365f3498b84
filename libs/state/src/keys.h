// Key layout helpers shared by the state stores (private to libs/state).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"

namespace kubesync::state {

inline constexpr std::string_view kPrefix = "kubesync:";

// InvalidArgument for an id that would blur the key layout or widen a SCAN pattern.
inline Status CheckId(std::string_view id) {
  if (id.empty()) {
    return InvalidArgumentError("state: live synchronization id is empty");
  }
  for (const char c : id) {
    // Glob characters would widen SCAN's MATCH; ':' would blur the key layout.
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == ':' ||
        static_cast<unsigned char>(c) <= ' ') {
      return InvalidArgumentError("state: live synchronization id \"" + std::string(id) +
                                  "\" contains a character that is not allowed");
    }
  }
  return OkStatus();
}

// "kubesync:<id>:<suffix>"
inline std::string IdKey(std::string_view id, std::string_view suffix) {
  return std::string(kPrefix) + std::string(id) + ":" + std::string(suffix);
}

inline int64_t NowMs(const Clock* clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock->Now().time_since_epoch()).count();
}

}  // namespace kubesync::state
