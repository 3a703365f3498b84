#include "reconciler_status.h"

#include <string>

namespace kubesync::controller {

namespace {

std::string Counts(const state::PassSummary& s) {
  return std::to_string(s.missing) + " missing, " + std::to_string(s.stale) + " stale, " +
         std::to_string(s.extra) + " extra";
}

}  // namespace

ReconcilerStatus ReconcilerStatusFrom(const std::optional<state::PassSummary>& summary, WallTime now,
                                      std::chrono::seconds resync_period, const Status& read_error) {
  ReconcilerStatus out;
  out.in_sync.type = "InSync";
  if (!read_error.ok()) {
    out.in_sync = {"InSync", ConditionStatus::kUnknown, "SummaryUnavailable",
                   "the reconciler's last pass cannot be read: " + read_error.ToString()};
    return out;
  }
  if (!summary.has_value()) {
    out.in_sync = {"InSync", ConditionStatus::kUnknown, "NoPassYet",
                   "the reconciler has not finished a pass yet"};
    return out;
  }
  const state::PassSummary& s = *summary;
  const WallTime finished{std::chrono::milliseconds(s.finished_at_unix_ms)};
  const std::string when = FormatRfc3339(finished);
  out.reconciliation = {{"lastPassTime", when},
                        {"missing", s.missing},
                        {"stale", s.stale},
                        {"extra", s.extra},
                        {"written", s.written},
                        {"deleted", s.deleted},
                        {"failedResources", s.failed_resources},
                        {"guardTripped", s.guard_tripped},
                        {"dryRun", s.dry_run}};
  const auto overdue_after =
      2 * std::chrono::duration_cast<std::chrono::milliseconds>(resync_period) + std::chrono::minutes(1);
  if (resync_period.count() > 0 && now - finished > overdue_after) {
    out.in_sync = {"InSync", ConditionStatus::kUnknown, "PassOverdue",
                   "the reconciler's last pass finished at " + when + ", more than two resync periods ago"};
    return out;
  }
  if (s.guard_tripped) {
    out.in_sync = {"InSync", ConditionStatus::kFalse, "MassDeletionGuardTripped",
                   "the last pass (" + when + ") found " + Counts(s) +
                       "; its deletes were stopped by the mass-deletion guard (an empty or wrong source?)"};
  } else if (s.failed_resources > 0) {
    out.in_sync = {"InSync", ConditionStatus::kFalse, "ResourcesNotJudged",
                   "the last pass (" + when + ") could not list " + std::to_string(s.failed_resources) +
                       " resource(s); it found " + Counts(s)};
  } else if (s.in_sync()) {
    out.in_sync = {"InSync", ConditionStatus::kTrue, "InSync",
                   "the last pass (" + when + ") found the destination equal to the source"};
  } else if (!s.dry_run && s.written == s.missing + s.stale && s.deleted == s.extra) {
    out.in_sync = {
        "InSync", ConditionStatus::kFalse, "Repairing",
        "the last pass (" + when + ") found " + Counts(s) + " and sent every repair down the pipeline"};
  } else {
    out.in_sync = {"InSync", ConditionStatus::kFalse, "Drift",
                   "the last pass (" + when + ") found " + Counts(s) + "; " + std::to_string(s.written) +
                       " written and " + std::to_string(s.deleted) + " deleted"};
  }
  return out;
}

ReconcilerStatus ReadReconcilerStatus(state::RedisClient* redis, const std::string& id,
                                      std::chrono::seconds resync_period, WallTime now) {
  if (redis == nullptr) {
    return ReconcilerStatusFrom(std::nullopt, now, resync_period, UnavailableError("redis is not connected"));
  }
  Result<std::optional<state::PassSummary>> summary = state::ReadPassSummary(*redis, id);
  if (!summary.ok()) return ReconcilerStatusFrom(std::nullopt, now, resync_period, summary.status());
  return ReconcilerStatusFrom(*summary, now, resync_period);
}

}  // namespace kubesync::controller
