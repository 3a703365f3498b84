#include "kubesync/service/run.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "kubesync/testsupport/process.h"
#include "sample_plan.h"

namespace kubesync::service {
namespace {

using nlohmann::json;

// Runs `component` with argv = {"test", args...}.
int RunWith(const Component& component, std::vector<std::string> args,
            std::shared_ptr<log::Sink> sink = std::make_shared<log::MemorySink>()) {
  args.insert(args.begin(), "test");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return RunComponent(static_cast<int>(argv.size()), argv.data(), component, std::move(sink));
}

TEST(ExitCodeTest, OneTable) {
  EXPECT_EQ(ExitCodeFor(OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(CancelledError("shutdown requested")), 0);
  EXPECT_EQ(ExitCodeFor(InvalidArgumentError("--plan: bad")), 2);
  EXPECT_EQ(ExitCodeFor(FailedPreconditionError("bad config")), 2);
  EXPECT_EQ(ExitCodeFor(UnavailableError("no nats")), 1);
  EXPECT_EQ(ExitCodeFor(InternalError("bug")), 1);
  EXPECT_EQ(ExitCodeFor(NotFoundError("gone")), 1);
  EXPECT_EQ(ExitCodeFor(DeadlineExceededError("slow")), 1);
}

class RunComponentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testsupport::WriteFile(dir_.path() / "plan.yaml", kPlanYaml);
    plan_ = (dir_.path() / "plan.yaml").string();
  }

  // A component with one flag of its own whose body records its context and returns `result`.
  Component Recording(Status result) {
    return {.name = "processor",
            .description = "test component",
            .add_flags =
                [this](CLI::App& app) { app.add_option("--workers", workers_)->check(CLI::Range(1, 64)); },
            .body =
                [this, result](ServiceContext& ctx, ShutdownSignal& shutdown) {
                  ran_ = true;
                  id_ = ctx.id;
                  partitions_ = ctx.options.partitions;
                  seen_workers_ = workers_;
                  shutdown_requested_ = shutdown.requested();
                  return result;
                }};
  }

  testsupport::TempDir dir_;
  std::string plan_;
  int workers_ = 0;
  bool ran_ = false;
  std::string id_;
  int partitions_ = 0;
  int seen_workers_ = 0;
  bool shutdown_requested_ = true;
};

TEST_F(RunComponentTest, ParsesCommonAndOwnFlagsThenRunsTheBody) {
  EXPECT_EQ(RunWith(Recording(OkStatus()), {"--plan", plan_, "--partitions", "4", "--workers", "3"}), 0);
  EXPECT_TRUE(ran_);
  EXPECT_EQ(id_, "dr-config.sample");
  EXPECT_EQ(partitions_, 4);
  EXPECT_EQ(seen_workers_, 3);
  EXPECT_FALSE(shutdown_requested_);
}

TEST_F(RunComponentTest, BodyStatusChoosesTheExitCode) {
  EXPECT_EQ(RunWith(Recording(CancelledError("shutdown requested")), {"--plan", plan_}), 0);
  EXPECT_EQ(RunWith(Recording(InvalidArgumentError("live synchronization id")), {"--plan", plan_}), 2);
  EXPECT_EQ(RunWith(Recording(UnavailableError("error connecting to nats")), {"--plan", plan_}), 1);
}

TEST_F(RunComponentTest, BadFlagsExitTwoWithoutRunningTheBody) {
  // CLI11's own codes (105, 106, ...) never leak out: every usage error is 2.
  EXPECT_EQ(RunWith(Recording(OkStatus()), {}), 2);                                      // --plan missing
  EXPECT_EQ(RunWith(Recording(OkStatus()), {"--plan", plan_, "--no-such-flag"}), 2);     // unknown flag
  EXPECT_EQ(RunWith(Recording(OkStatus()), {"--plan", plan_, "--partitions", "x"}), 2);  // not a number
  EXPECT_EQ(RunWith(Recording(OkStatus()), {"--plan", plan_, "--workers", "65"}),
            2);  // the component's own check
  EXPECT_FALSE(ran_);
}

TEST_F(RunComponentTest, HelpExitsZeroWithoutRunningTheBody) {
  EXPECT_EQ(RunWith(Recording(InternalError("must not run")), {"--help"}), 0);
  EXPECT_FALSE(ran_);
}

TEST_F(RunComponentTest, InvalidPlanOrContextExitsTwo) {
  EXPECT_EQ(RunWith(Recording(OkStatus()), {"--plan", (dir_.path() / "missing.yaml").string()}), 2);
  EXPECT_EQ(RunWith(Recording(OkStatus()), {"--plan", plan_, "--log-level", "loud"}), 2);
  EXPECT_FALSE(ran_);
}

TEST(ParseFlagsTest, GoOnHelpOrBadFlag) {
  CLI::App app;
  std::string name;
  app.add_option("--name", name)->required();
  std::vector<std::string> args = {"test", "--name", "a"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  EXPECT_EQ(ParseFlags(app, static_cast<int>(argv.size()), argv.data()), std::nullopt);
  EXPECT_EQ(name, "a");

  CLI::App bad;
  bad.add_option("--name", name)->required();
  char arg0[] = "test";
  char* no_args[] = {arg0};
  EXPECT_EQ(ParseFlags(bad, 1, no_args), std::optional<int>(2));
}

TEST(StartFailureTest, LogsAndFailsUnlessCancelled) {
  auto sink = std::make_shared<log::MemorySink>();
  log::Logger logger({.process_id = "processor", .consumer_id = "p-1"}, sink);

  Status cancelled = StartFailure(logger, "error connecting to nats", CancelledError("shutdown requested"));
  EXPECT_EQ(cancelled.code(), Code::kCancelled);
  EXPECT_EQ(ExitCodeFor(cancelled), 0);
  EXPECT_TRUE(sink->Lines().empty());

  // A kubeconfig that does not load is a failure to start (1), not a bad flag (2).
  Status failed = StartFailure(logger, "error connecting to cluster",
                               InvalidArgumentError("kubeconfig \"k\": no such file"),
                               {{"sourceCluster", {{"name", "source"}}}});
  EXPECT_EQ(ExitCodeFor(failed), 1);
  EXPECT_EQ(failed.message(), "kubeconfig \"k\": no such file");
  ASSERT_EQ(sink->Lines().size(), 1u);
  json line = json::parse(sink->Lines()[0]);
  EXPECT_EQ(line["msg"], "error connecting to cluster");
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["error"], "INVALID_ARGUMENT: kubeconfig \"k\": no such file");
  EXPECT_EQ(line["sourceCluster"]["name"], "source");
}

}  // namespace
}  // namespace kubesync::service
