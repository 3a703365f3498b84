#include "kubesync/core/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace kubesync {

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(policy), uniform01_(std::move(uniform01)) {
  if (!uniform01_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    uniform01_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
}

std::chrono::milliseconds Backoff::Next() {
  const double base = static_cast<double>(policy_.initial.count()) *
                      std::pow(policy_.multiplier, static_cast<double>(attempts_));
  const double capped = std::min(base, static_cast<double>(policy_.max.count()));
  ++attempts_;
  const double factor = 1.0 + policy_.jitter * (2.0 * uniform01_() - 1.0);
  const double jittered = std::clamp(capped * factor, 0.0, static_cast<double>(policy_.max.count()));
  return std::chrono::milliseconds(static_cast<long long>(std::llround(jittered)));
}

}  // namespace kubesync
