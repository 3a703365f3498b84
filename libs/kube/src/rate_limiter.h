// Token bucket (client-go's flowcontrol.NewTokenBucketRateLimiter): `burst` tokens,
// refilled at `qps` per second. Thread-safe; waiting happens outside the lock.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>

#include "kubesync/core/clock.h"

namespace kubesync::kube {

class RateLimiter {
 public:
  RateLimiter(double qps, int burst, const Clock* clock)
      : qps_(qps), burst_(std::max(1, burst)), clock_(clock), tokens_(burst_), last_(clock->SteadyNow()) {}

  // Takes one token, sleeping until one is available. qps <= 0 disables limiting.
  void Acquire() {
    if (qps_ <= 0) {
      return;
    }
    std::chrono::nanoseconds wait{0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      MonoTime now = clock_->SteadyNow();
      double elapsed = std::chrono::duration<double>(now - last_).count();
      last_ = now;
      tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
      tokens_ -= 1;  // may go negative: a reservation the caller waits out
      if (tokens_ < 0) {
        wait = std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / qps_ * 1e9));
      }
    }
    if (wait.count() > 0) {
      clock_->SleepFor(wait);
    }
  }

 private:
  double qps_;
  int burst_;
  const Clock* clock_;
  std::mutex mu_;
  double tokens_;
  MonoTime last_;
};

}  // namespace kubesync::kube
