// What the LiveSynchronization status says about the reconciler's last pass (the summary
// it keeps in Redis, kubesync/state/pass_summary.h): the `status.reconciliation` fields
// and the InSync condition.
//
//   status.reconciliation: {lastPassTime, missing, stale, extra, written, deleted,
//                           failedResources, guardTripped, dryRun}
//   InSync  True   InSync                    the last pass found nothing to change
//           False  Repairing                 drift found, every repair sent down the pipeline
//           False  Drift                     drift found and not (all) repaired (dry run, ...)
//           False  MassDeletionGuardTripped  deletes stopped by the mass-deletion guard
//           False  ResourcesNotJudged        some resource could not be listed
//           Unknown NoPassYet / PassOverdue / SummaryUnavailable
//
// Pure except ReadReconcilerStatus (one Redis read). Thread-compatible.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "conditions.h"
#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/state/pass_summary.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::controller {

struct ReconcilerStatus {
  nlohmann::json reconciliation;  // the status.reconciliation object; null before any pass
  Condition in_sync;              // type "InSync"
};

// From the last pass's summary (nullopt: none recorded yet, or `read_error` set when it
// could not be read). A pass older than twice `resync_period` plus a minute is overdue.
ReconcilerStatus ReconcilerStatusFrom(const std::optional<state::PassSummary>& summary, WallTime now,
                                      std::chrono::seconds resync_period,
                                      const Status& read_error = OkStatus());

// Reads the summary of LiveSynchronization `id` (nullptr `redis`: unavailable) and returns
// the status parts. The controller's status step calls it and writes the result:
//   ReconcilerStatus r = ReadReconcilerStatus(redis_.get(), id, plan->resync_period, now);
//   if (!r.reconciliation.is_null()) status["reconciliation"] = r.reconciliation;
//   SetCondition(conditions, r.in_sync, generation, Now());
ReconcilerStatus ReadReconcilerStatus(state::RedisClient* redis, const std::string& id,
                                      std::chrono::seconds resync_period, WallTime now);

}  // namespace kubesync::controller
