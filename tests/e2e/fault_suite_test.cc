// The fault suite (issue 10, "Suites that keep it so"), Redis and API server scenarios:
// each runs a 10k-write churn on the source while the fault hits the set, then checks by
// listing both clusters (fault_suite.h). Label: faults (each scenario takes about 15 s).
#include "fault_suite.h"

#include <thread>

namespace kubesync::e2e {
namespace {

using faults::Churn;
using faults::FaultSuiteTest;
using std::chrono::seconds;

TEST_F(FaultSuiteTest, RedisFlushAll) {
  RunScenario([&](Churn&) { FlushRedis(); });
}

TEST_F(FaultSuiteTest, RedisFreshEmptyServer) {
  RunScenario([&](Churn& churn) {
    p().redis().Stop();
    churn.WaitForProgress(churn.done() + 500, seconds(20));  // the set runs on without Redis a while
    E2E_ASSERT_OK(p().redis().StartAgain());
  });
}

TEST_F(FaultSuiteTest, SourceApiServerAwayThenBack) {
  RunScenario([&](Churn&) {
    p().source_cluster().Stop();
    std::this_thread::sleep_for(seconds(3));  // the outage itself, not a synchronisation
    E2E_ASSERT_OK(p().source_cluster().Restart());
  });
}

TEST_F(FaultSuiteTest, DestinationApiServerAwayThenBack) {
  RunScenario([&](Churn&) {
    p().destination_cluster().Stop();
    std::this_thread::sleep_for(seconds(3));  // the outage itself, not a synchronisation
    E2E_ASSERT_OK(p().destination_cluster().Restart());
  });
}

TEST_F(FaultSuiteTest, DroppedWatchesAndCompactionDuringChurn) {
  RunScenario([&](Churn& churn) {
    for (int round = 0; round < 4; ++round) {
      E2E_ASSERT_OK(p().source_cluster().Compact());
      E2E_ASSERT_OK(p().source_cluster().DropWatches());
      churn.WaitForProgress(churn.done() + 400, seconds(30));
    }
  });
}

TEST_F(FaultSuiteTest, TwoFaultsAtOnceRedisFlushAndDestinationAway) {
  RunScenario([&](Churn& churn) {
    p().destination_cluster().Stop();
    FlushRedis();
    churn.WaitForProgress(churn.done() + 1000, seconds(30));
    E2E_ASSERT_OK(p().destination_cluster().Restart());
  });
}

TEST_F(FaultSuiteTest, TwoFaultsAtOnceFreshRedisAndSourceAway) {
  RunScenario([&](Churn&) {
    p().redis().Stop();
    p().source_cluster().Stop();
    std::this_thread::sleep_for(seconds(3));  // the outage itself, not a synchronisation
    E2E_ASSERT_OK(p().redis().StartAgain());
    E2E_ASSERT_OK(p().source_cluster().Restart());
  });
}

}  // namespace
}  // namespace kubesync::e2e
