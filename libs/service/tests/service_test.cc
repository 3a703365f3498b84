#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "kubesync/service/context.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/service/options.h"
#include "kubesync/service/shutdown.h"
#include "kubesync/testsupport/process.h"
#include "sample_plan.h"

namespace kubesync::service {
namespace {

using nlohmann::json;

TEST(OptionsTest, ParsesEveryCommonFlag) {
  CLI::App app;
  CommonOptions o;
  AddCommonFlags(app, o);
  std::vector<std::string> args = {"--partitions", "4", "--consumer-id", "c1", "--nats-url", "nats://127.0.0.1:1",
                                   "--redis-url", "redis://127.0.0.1:2/0", "--log-level", "warn",
                                   "--source-kubeconfig", "s", "--destination-kubeconfig", "d", "--plan", "p.yaml"};
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  app.parse(args);
  EXPECT_EQ(o.plan_file, "p.yaml");
  EXPECT_EQ(o.partitions, 4);
  EXPECT_EQ(o.consumer_id, "c1");
  EXPECT_EQ(o.nats_url, "nats://127.0.0.1:1");
  EXPECT_EQ(o.redis_url, "redis://127.0.0.1:2/0");
  EXPECT_EQ(o.log_level, "warn");
  EXPECT_EQ(o.source_kubeconfig, "s");
  EXPECT_EQ(o.destination_kubeconfig, "d");
}

TEST(OptionsTest, PlanIsRequiredAndPartitionsBounded) {
  CLI::App app;
  CommonOptions o;
  AddCommonFlags(app, o);
  EXPECT_THROW(app.parse(std::vector<std::string>{}), CLI::RequiredError);
  CLI::App app2;
  CommonOptions o2;
  AddCommonFlags(app2, o2);
  EXPECT_THROW(app2.parse(std::vector<std::string>{"0", "--partitions", "x", "--plan"}), CLI::ValidationError);
}

TEST(ContextTest, LoadsPlanAndPicksLogLevel) {
  testsupport::TempDir dir;
  testsupport::WriteFile(dir.path() / "plan.yaml", kPlanYaml);
  CommonOptions o;
  o.plan_file = (dir.path() / "plan.yaml").string();
  auto sink = std::make_shared<log::MemorySink>();
  auto ctx = MakeContext("processor", o, sink);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ctx->id, "dr-config.sample");
  EXPECT_EQ(ctx->plan.rules.size(), 1u);
  ctx->logger.Debug("object read from cluster");  // the plan says debug for the processor
  ASSERT_EQ(sink->Lines().size(), 1u);
  json line = json::parse(sink->Lines()[0]);
  EXPECT_EQ(line["process"]["id"], "processor");
  EXPECT_EQ(line["process"]["consumerID"], "processor-" + std::to_string(::getpid()));

  o.log_level = "error";  // the flag wins over the plan
  auto quiet = MakeContext("processor", o, sink);
  ASSERT_TRUE(quiet.ok());
  quiet->logger.Warn("object not found in cluster");
  EXPECT_EQ(sink->Lines().size(), 1u);
}

TEST(ContextTest, BadPlanFileNamesFileAndField) {
  testsupport::TempDir dir;
  std::string bad = kPlanYaml;
  bad.replace(bad.find("resource: deployments"), 21, "resourc: deployments");
  testsupport::WriteFile(dir.path() / "bad.yaml", bad);
  CommonOptions o;
  o.plan_file = (dir.path() / "bad.yaml").string();
  auto ctx = MakeContext("synchronizer", o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().code(), Code::kInvalidArgument);
  EXPECT_NE(ctx.status().message().find("bad.yaml"), std::string::npos) << ctx.status().message();
  EXPECT_NE(ctx.status().message().find("spec.config.replication.resources[0]"), std::string::npos)
      << ctx.status().message();

  o.plan_file = (dir.path() / "missing.yaml").string();
  auto missing = MakeContext("synchronizer", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--plan: cannot read"), std::string::npos);
}

TEST(LogFieldsTest, ShapesOfTheLoggingChapter) {
  json deploy = {{"metadata",
                  {{"name", "web"},
                   {"namespace", "shop"},
                   {"resourceVersion", "61949"},
                   {"uid", "5eb6"},
                   {"annotations",
                    {{"audit.astronetes.io/last-update-time", "2023-11-25T13:12:28Z"},
                     {"audit.astronetes.io/last-update-username", "kubernetes-admin"}}}}}};
  EXPECT_EQ(ObjectRef(plan::Gvr{"apps", "v1", "deployments"}, deploy),
            json({{"apiGroup", "apps"},
                  {"apiVersion", "v1"},
                  {"resource", "deployments"},
                  {"name", "web"},
                  {"namespace", "shop"},
                  {"resourceVersion", "61949"},
                  {"uid", "5eb6"}}));
  EXPECT_EQ(LastUpdate(deploy), json({{"time", "2023-11-25T13:12:28Z"}, {"username", "kubernetes-admin"}}));
  EXPECT_TRUE(LastUpdate(json::object()).is_null());
  EXPECT_EQ(ClusterRef("source", "dr-config"), json({{"name", "source"}, {"namespace", "dr-config"}}));
  EXPECT_EQ(EventField(proto::EventType::kModified), json({{"type", "update"}}));
  EXPECT_EQ(EventField(proto::EventType::kDeleted), json({{"type", "delete"}}));
  proto::Event e;
  e.gvr = {"", "v1", "configmaps"};
  e.name = "a";
  e.resource_version = "7";
  EXPECT_EQ(ObjectRef(e), json({{"apiGroup", ""}, {"apiVersion", "v1"}, {"resource", "configmaps"},
                                {"name", "a"}, {"resourceVersion", "7"}}));
}

TEST(ShutdownSignalTest, SigtermRequestsShutdown) {
  ShutdownSignal shutdown;
  EXPECT_FALSE(shutdown.requested());
  EXPECT_FALSE(shutdown.WaitFor(std::chrono::milliseconds(1)));
  ::kill(::getpid(), SIGTERM);
  EXPECT_TRUE(shutdown.WaitFor(std::chrono::seconds(10)));
  EXPECT_TRUE(shutdown.flag().load());
}

TEST(ShutdownSignalTest, TriggerWakesWaiters) {
  ShutdownSignal shutdown;
  std::thread t([&] { shutdown.Trigger(); });
  shutdown.Wait();
  t.join();
  EXPECT_TRUE(shutdown.requested());
}

}  // namespace
}  // namespace kubesync::service
