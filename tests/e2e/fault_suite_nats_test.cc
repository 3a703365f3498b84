// The fault suite, NATS scenarios (issue 10, "Suites that keep it so"): JetStream loses its
// store (a non-persistent restart) or crashes while watches drop, mid-churn. Every
// component must recreate the streams and consumers it needs and re-list what may have been
// lost (issue 10 item 7, the "bus" helper's work); the destination then converges as in
// fault_suite_test.cc. Label: faults.
#include <filesystem>
#include <thread>

#include "fault_suite.h"

namespace kubesync::e2e {
namespace {

using faults::Churn;
using faults::FaultSuiteTest;
using std::chrono::seconds;

TEST_F(FaultSuiteTest, NatsRestartWithoutItsStore) {
  RunScenario([&](Churn& churn) {
    p().nats().Stop();
    std::filesystem::remove_all(p().nats().store_dir());
    std::filesystem::create_directories(p().nats().store_dir());
    E2E_ASSERT_OK(p().nats().StartAgain());
    churn.WaitForProgress(churn.done() + 500, seconds(30));
  });
}

TEST_F(FaultSuiteTest, TwoFaultsAtOnceNatsCrashAndDroppedWatches) {
  RunScenario([&](Churn& churn) {
    p().nats().Kill();
    E2E_ASSERT_OK(p().source_cluster().Compact());
    E2E_ASSERT_OK(p().source_cluster().DropWatches());
    churn.WaitForProgress(churn.done() + 500, seconds(30));
    E2E_ASSERT_OK(p().nats().StartAgain());
  });
}

}  // namespace
}  // namespace kubesync::e2e
