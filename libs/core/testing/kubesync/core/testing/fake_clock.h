// A Clock that only moves when told to; SleepFor advances it instead of blocking.
#pragma once

#include <atomic>
#include <chrono>

#include "kubesync/core/clock.h"

namespace kubesync::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime(std::chrono::seconds(1'700'000'000)))
      : wall_ns_(start.time_since_epoch().count()) {}

  WallTime Now() const override { return WallTime(WallTime::duration(wall_ns_.load())); }
  MonoTime SteadyNow() const override { return MonoTime(std::chrono::nanoseconds(mono_ns_.load())); }
  void SleepFor(std::chrono::nanoseconds d) const override { Advance(d); }

  void Advance(std::chrono::nanoseconds d) const {
    wall_ns_ += std::chrono::duration_cast<WallTime::duration>(d).count();
    mono_ns_ += d.count();
  }

 private:
  mutable std::atomic<WallTime::rep> wall_ns_;
  mutable std::atomic<std::int64_t> mono_ns_{1'000'000'000};
};

}  // namespace kubesync::testing
