// The reconciler's last pass, kept in Redis so that the controller can show in the
// LiveSynchronization status how far the destination was from the source:
//
//   kubesync:<id>:reconciler  hash:
//       finishedAt    unix milliseconds when the pass ended
//       durationMs    how long it took
//       missing, stale, extra       what it found (drift)
//       written, deleted            what it sent down the pipeline to repair it
//       failedResources             resources it could not judge (listing failed, ...)
//       guardTripped  "1" when the mass-deletion guard stopped its deletes
//       dryRun        "1" when it changed nothing by request
//
// Written whole after each pass (one HSET), read by the controller. Thread-safe (the
// RedisClient is). Errors: kUnavailable when Redis is unreachable, kInvalidArgument for
// a bad id, kInternal for a record that is not one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::state {

struct PassSummary {
  int64_t finished_at_unix_ms = 0;
  int64_t duration_ms = 0;
  int64_t missing = 0;
  int64_t stale = 0;
  int64_t extra = 0;
  int64_t written = 0;
  int64_t deleted = 0;
  int64_t failed_resources = 0;
  bool guard_tripped = false;
  bool dry_run = false;

  // Nothing missing, stale or extra, and every resource judged.
  bool in_sync() const { return missing == 0 && stale == 0 && extra == 0 && failed_resources == 0; }
  friend bool operator==(const PassSummary&, const PassSummary&) = default;
};

// "kubesync:<id>:reconciler"; InvalidArgument for an id with glob or separator characters.
Result<std::string> PassSummaryKey(std::string_view id);

Status WritePassSummary(RedisClient& redis, std::string_view id, const PassSummary& summary);

// nullopt when no pass has been recorded for `id`.
Result<std::optional<PassSummary>> ReadPassSummary(RedisClient& redis, std::string_view id);

}  // namespace kubesync::state
