// Start-up retries of a component: connecting to NATS, Redis or a cluster that is not up
// yet is not an error, it is a wait (with backoff, a warning per attempt) that shutdown
// ends.
#pragma once

#include <chrono>
#include <string_view>

#include "kubesync/core/backoff.h"
#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/service/shutdown.h"

namespace kubesync::service {

inline constexpr BackoffPolicy kStartupBackoff{std::chrono::milliseconds(200), std::chrono::milliseconds(5000),
                                               2.0, 0.2};

// Calls `attempt` (returning a Result<T> or Status) until it succeeds, fails with a
// non-retryable error, or shutdown is requested; then returns its last result (or
// kCancelled when shutdown came first). Each retryable failure is logged as `msg` (warn).
template <typename F>
auto RetryUntilShutdown(ShutdownSignal& shutdown, const log::Logger& logger, std::string_view msg, F attempt)
    -> decltype(attempt()) {
  Backoff backoff(kStartupBackoff);
  while (true) {
    auto result = attempt();
    if (result.ok() || !result.status().IsRetryable()) return result;
    logger.Warn(msg, {{"error", result.status().ToString()}});
    if (shutdown.WaitFor(backoff.Next())) return CancelledError("shutdown requested");
  }
}

}  // namespace kubesync::service
