#include "problems.h"

#include <gtest/gtest.h>

namespace kubesync::controller {
namespace {

TEST(ProblemsMessageTest, NamesTheObjectsAndTheirReasons) {
  EXPECT_EQ(ProblemsMessage({}), "");
  ProblemSummary summary;
  summary.count = 3;
  summary.examples = {
      {"/configmaps/app/z", "u2", 7, "DeliveryLimit", "synchronizer", "UNAVAILABLE: 500", 20, 0},
      {"/configmaps/app/big", "u1", 12, "MessageTooLarge", "eventslistener", std::string(300, 'x'), 0, 0},
  };
  EXPECT_EQ(ProblemsMessage(summary),
            "3 objects are not replicated: /configmaps/app/big at resourceVersion 12 (MessageTooLarge, "
            "eventslistener: " +
                std::string(200, 'x') +
                "...); /configmaps/app/z at resourceVersion 7 (DeliveryLimit, synchronizer: UNAVAILABLE: "
                "500); ...");
  summary.count = 1;
  summary.examples.resize(1);
  EXPECT_EQ(
      ProblemsMessage(summary),
      "1 object is not replicated: /configmaps/app/z at resourceVersion 7 (DeliveryLimit, synchronizer: "
      "UNAVAILABLE: 500)");
}

}  // namespace
}  // namespace kubesync::controller
