#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

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

TEST(OptionsTest, CredentialsComeFromFilesOrTheEnvironmentNeverFlags) {
  testsupport::TempDir dir;
  testsupport::WriteFile(dir.path() / "nats.pw", "nats-secret\n");
  testsupport::WriteFile(dir.path() / "redis.pw", "redis-secret");
  CLI::App app;
  CommonOptions o;
  AddCommonFlags(app, o);
  std::vector<std::string> args = {"--plan",
                                   "p.yaml",
                                   "--nats-user",
                                   "set-a",
                                   "--nats-password-file",
                                   (dir.path() / "nats.pw").string(),
                                   "--nats-ca-file",
                                   "/ca.pem",
                                   "--nats-inbox-prefix",
                                   "_INBOX_A",
                                   "--redis-user",
                                   "set-a",
                                   "--redis-password-file",
                                   (dir.path() / "redis.pw").string(),
                                   "--redis-ca-file",
                                   "/rca.pem",
                                   "--nats-creds-file",
                                   "/u.creds"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  EXPECT_EQ(o.nats_user, "set-a");
  EXPECT_EQ(o.nats_ca_file, "/ca.pem");
  EXPECT_EQ(o.nats_creds_file, "/u.creds");
  EXPECT_EQ(o.nats_inbox_prefix, "_INBOX_A");
  EXPECT_EQ(o.redis_user, "set-a");
  EXPECT_EQ(o.redis_ca_file, "/rca.pem");
  auto creds = LoadCredentials(o);
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_EQ(creds->nats_password, "nats-secret") << "the trailing newline is dropped";
  EXPECT_EQ(creds->redis_password, "redis-secret");
  EXPECT_EQ(creds->nats_token, "");

  // No file: the environment.
  CommonOptions env_only;
  ::setenv("KUBESYNC_REDIS_PASSWORD", "from-env", 1);
  ::setenv("KUBESYNC_NATS_TOKEN", "token-env", 1);
  auto from_env = LoadCredentials(env_only);
  ::unsetenv("KUBESYNC_REDIS_PASSWORD");
  ::unsetenv("KUBESYNC_NATS_TOKEN");
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->redis_password, "from-env");
  EXPECT_EQ(from_env->nats_token, "token-env");

  // Errors name the flag and the file, never a secret.
  CommonOptions missing;
  missing.redis_password_file = (dir.path() / "nope").string();
  auto err = LoadCredentials(missing);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(err.status().message().rfind(
                "--redis-password-file " + missing.redis_password_file + ": cannot read", 0),
            0u)
      << err.status().message();
  CommonOptions no_user;
  no_user.nats_password_file = (dir.path() / "nats.pw").string();
  auto userless = LoadCredentials(no_user);
  ASSERT_FALSE(userless.ok());
  EXPECT_EQ(userless.status().message(), "--nats-user is required with a NATS password");
  EXPECT_EQ(userless.status().message().find("nats-secret"), std::string::npos);
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
