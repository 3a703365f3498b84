// EventRecorder: repeats become a count on one Event; what it remembers stays bounded.
#include "events.h"

#include <gtest/gtest.h>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/kube/testing/fake_transport.h"

namespace kubesync::controller {
namespace {

using nlohmann::json;

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderTest()
      : transport_(std::make_shared<kube::testing::FakeTransport>([this](const kube::HttpRequest& req) {
          ++calls_[req.method];
          kube::HttpResponse reply{.status = req.method == "POST" ? 201 : 200,
                                   .body = req.body.empty() ? "{}" : req.body};
          reply.headers["content-type"] = "application/json";
          return Result<kube::HttpResponse>(reply);
        })),
        client_(transport_, kube::ClientOptions{.max_retries = 0}),
        recorder_("kubesync-controller",
                  log::Logger({.process_id = "test"}, std::make_shared<log::MemorySink>()), &clock_) {}

  const json object_ = {{"apiVersion", "automation.astronetes.io/v1alpha1"},
                        {"kind", "LiveSynchronization"},
                        {"metadata", {{"name", "ls"}, {"namespace", "dr"}, {"uid", "u1"}}}};
  std::map<std::string, int> calls_;
  std::shared_ptr<kube::testing::FakeTransport> transport_;
  kube::Client client_;
  testing::FakeClock clock_;
  EventRecorder recorder_;
};

TEST_F(EventRecorderTest, ARepeatIsCountedOnTheSameEvent) {
  recorder_.Record(client_, object_, "Normal", "Started", "components started");
  recorder_.Record(client_, object_, "Normal", "Started", "components started");
  EXPECT_EQ(calls_["POST"], 1);
  EXPECT_EQ(calls_["PATCH"], 1);
}

TEST_F(EventRecorderTest, ManyDistinctMessagesDoNotGrowWithoutBound) {
  recorder_.Record(client_, object_, "Warning", "Restarted", "old");
  clock_.Advance(std::chrono::hours(2));
  for (int i = 0; i < 3000; ++i) {
    recorder_.Record(client_, object_, "Warning", "Restarted", std::to_string(i) + " restart(s)");
  }
  EXPECT_LE(recorder_.remembered(), EventRecorder::kMaxSeen);
  // "old" was forgotten (older than an Event lives): recording it again makes a new Event.
  const int posts = calls_["POST"];
  recorder_.Record(client_, object_, "Warning", "Restarted", "old");
  EXPECT_EQ(calls_["POST"], posts + 1);
}

}  // namespace
}  // namespace kubesync::controller
