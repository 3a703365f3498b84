#include "reconciler_status.h"

#include <gtest/gtest.h>

namespace kubesync::controller {
namespace {

const WallTime kNow{std::chrono::milliseconds(1765130000000)};
constexpr std::chrono::seconds kHour{3600};

state::PassSummary Pass(int64_t missing, int64_t stale, int64_t extra) {
  state::PassSummary s;
  s.finished_at_unix_ms = 1765130000000 - 60'000;
  s.missing = missing;
  s.stale = stale;
  s.extra = extra;
  s.written = missing + stale;
  s.deleted = extra;
  return s;
}

TEST(ReconcilerStatusTest, InSyncAfterAPassThatFoundNothing) {
  ReconcilerStatus r = ReconcilerStatusFrom(Pass(0, 0, 0), kNow, kHour);
  EXPECT_EQ(r.in_sync.type, "InSync");
  EXPECT_EQ(r.in_sync.status, ConditionStatus::kTrue);
  EXPECT_EQ(r.in_sync.reason, "InSync");
  EXPECT_EQ(r.reconciliation["lastPassTime"], "2025-12-07T17:52:20Z");
  EXPECT_EQ(r.reconciliation["missing"], 0);
  EXPECT_EQ(r.reconciliation["guardTripped"], false);
}

TEST(ReconcilerStatusTest, DriftIsReportedWithItsCounts) {
  ReconcilerStatus repairing = ReconcilerStatusFrom(Pass(1, 2, 3), kNow, kHour);
  EXPECT_EQ(repairing.in_sync.status, ConditionStatus::kFalse);
  EXPECT_EQ(repairing.in_sync.reason, "Repairing");
  EXPECT_NE(repairing.in_sync.message.find("1 missing, 2 stale, 3 extra"), std::string::npos);
  EXPECT_EQ(repairing.reconciliation["extra"], 3);

  state::PassSummary dry = Pass(1, 0, 0);
  dry.written = 0;
  dry.dry_run = true;
  EXPECT_EQ(ReconcilerStatusFrom(dry, kNow, kHour).in_sync.reason, "Drift");

  state::PassSummary guarded = Pass(0, 0, 40);
  guarded.deleted = 0;
  guarded.guard_tripped = true;
  EXPECT_EQ(ReconcilerStatusFrom(guarded, kNow, kHour).in_sync.reason, "MassDeletionGuardTripped");

  state::PassSummary failed = Pass(0, 0, 0);
  failed.failed_resources = 1;
  EXPECT_EQ(ReconcilerStatusFrom(failed, kNow, kHour).in_sync.reason, "ResourcesNotJudged");
}

TEST(ReconcilerStatusTest, UnknownWithoutARecentPass) {
  EXPECT_EQ(ReconcilerStatusFrom(std::nullopt, kNow, kHour).in_sync.reason, "NoPassYet");
  EXPECT_TRUE(ReconcilerStatusFrom(std::nullopt, kNow, kHour).reconciliation.is_null());
  state::PassSummary old = Pass(0, 0, 0);
  old.finished_at_unix_ms -= 3 * 3600 * 1000;
  ReconcilerStatus overdue = ReconcilerStatusFrom(old, kNow, kHour);
  EXPECT_EQ(overdue.in_sync.status, ConditionStatus::kUnknown);
  EXPECT_EQ(overdue.in_sync.reason, "PassOverdue");
  EXPECT_FALSE(overdue.reconciliation.is_null()) << "the last pass is still shown";
  ReconcilerStatus unreadable = ReadReconcilerStatus(nullptr, "dr.live", kHour, kNow);
  EXPECT_EQ(unreadable.in_sync.reason, "SummaryUnavailable");
  EXPECT_EQ(unreadable.in_sync.message,
            "the reconciler's last pass cannot be read: UNAVAILABLE: redis is not connected");
}

}  // namespace
}  // namespace kubesync::controller
