// Time as a dependency: code that reads the time or waits takes a Clock, so tests can
// drive it (see libs/core/testing/fake_clock.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"

namespace kubesync {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps shown to people and written to objects.
  virtual WallTime Now() const = 0;
  // Monotonic time, for deadlines and durations.
  virtual MonoTime SteadyNow() const = 0;
  // Blocks the calling thread for `d` (a fake clock advances instead). Thread-safe.
  virtual void SleepFor(std::chrono::nanoseconds d) const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::nanoseconds d) const override;
  // The process-wide real clock; stateless, so sharing it is safe.
  static const SystemClock& Get();
};

// RFC 3339 in UTC. `fraction_digits` 0 gives "2024-05-01T10:00:00Z" (the Kubernetes
// metadata format), 9 gives nanoseconds as in kubesync's log lines.
std::string FormatRfc3339(WallTime t, int fraction_digits = 0);
// Parses "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123Z" and "+hh:mm" offsets.
Result<WallTime> ParseRfc3339(std::string_view text);

}  // namespace kubesync
