// Exponential backoff with jitter, for retrying what failed with a retryable Status.
// Randomness is injected so tests can pin the sequence.
#pragma once

#include <chrono>
#include <functional>

namespace kubesync {

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  // Each delay is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter].
  double jitter = 0.2;
};

class Backoff {
 public:
  // `uniform01` returns values in [0, 1); defaults to a seeded std::mt19937_64.
  explicit Backoff(BackoffPolicy policy = {}, std::function<double()> uniform01 = nullptr);

  // The delay before the next attempt; grows until `policy.max`. Not thread-safe.
  std::chrono::milliseconds Next();
  // Starts over from `policy.initial`, after a success.
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform01_;
  int attempts_ = 0;
};

}  // namespace kubesync
