#include "kubesync/core/log.h"

#include <gtest/gtest.h>

#include "kubesync/core/testing/fake_clock.h"

namespace kubesync::log {
namespace {

using nlohmann::json;

TEST(LogTest, WritesDocumentedFieldsOnOneLine) {
  auto sink = std::make_shared<MemorySink>();
  testing::FakeClock clock;
  Logger logger({.process_id = "processor", .consumer_id = "event-processor-n74"}, sink, &clock);
  logger.Info("object uploaded in bucket",
              {{"bucketObject", {{"path", "dr-config/pre/apps-v1-deployments/ns.helloworld"}}},
               {"event", {{"type", "create"}}}});
  auto lines = sink->Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  json line = json::parse(lines[0]);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "object uploaded in bucket");
  EXPECT_EQ(line["timestamp"], "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(line["process"], json({{"id", "processor"}, {"consumerID", "event-processor-n74"}}));
  EXPECT_EQ(line["bucketObject"]["path"], "dr-config/pre/apps-v1-deployments/ns.helloworld");
  EXPECT_EQ(line["event"]["type"], "create");
}

TEST(LogTest, LevelFiltersAndReservedFieldsStay) {
  auto sink = std::make_shared<MemorySink>();
  Logger logger({.process_id = "synchronizer", .level = Level::kWarn}, sink);
  logger.Info("object read from cluster");
  logger.Error("error creating object in cluster", {{"msg", "overridden?"}, {"level", "debug"}});
  auto lines = sink->Lines();
  ASSERT_EQ(lines.size(), 1u);
  json line = json::parse(lines[0]);
  EXPECT_EQ(line["msg"], "error creating object in cluster");
  EXPECT_EQ(line["level"], "error");
  EXPECT_FALSE(line["process"].contains("consumerID"));
}

TEST(LogTest, SecretDataNeverReachesTheSink) {
  auto sink = std::make_shared<MemorySink>();
  Logger logger({.process_id = "processor", .level = Level::kDebug}, sink);
  json secret = {{"kind", "Secret"},
                 {"apiVersion", "v1"},
                 {"metadata", {{"name", "db"}}},
                 {"data", {{"password", "c3VwZXJzZWNyZXQ="}}},
                 {"stringData", {{"token", "supersecret"}}}};
  logger.Debug("object read from cluster", {{"object", secret}, {"list", json::array({secret})}});
  auto lines = sink->Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("c3VwZXJzZWNyZXQ="), std::string::npos);
  EXPECT_EQ(lines[0].find("supersecret"), std::string::npos);
  json line = json::parse(lines[0]);
  EXPECT_EQ(line["object"]["data"]["password"], "<redacted>");
  EXPECT_EQ(line["list"][0]["stringData"]["token"], "<redacted>");
  EXPECT_EQ(line["object"]["metadata"]["name"], "db");
}

TEST(LogTest, PasswordsInUrlsNeverReachTheSink) {
  auto sink = std::make_shared<MemorySink>();
  Logger logger({.process_id = "controller"}, sink);
  logger.Info("process runtime ready",
              {{"redisUrl", "rediss://app:hunter2@redis.example:6380/0"},
               {"error", "connect to nats://a:pw1@h1:4222,nats://b:pw2@h2:4222: refused"},
               {"natsUrl", "nats://127.0.0.1:4222"},
               {"nested", {{"list", {"redis://:bare-pw@h:1/0"}}}}});
  ASSERT_EQ(sink->Lines().size(), 1u);
  const std::string line = sink->Lines()[0];
  for (const char* secret : {"hunter2", "pw1", "pw2", "bare-pw"}) {
    EXPECT_EQ(line.find(secret), std::string::npos) << secret << " in " << line;
  }
  EXPECT_NE(line.find("rediss://app:<redacted>@redis.example:6380/0"), std::string::npos) << line;
  EXPECT_NE(line.find("nats://a:<redacted>@h1:4222,nats://b:<redacted>@h2:4222"), std::string::npos) << line;
  EXPECT_NE(line.find("\"natsUrl\":\"nats://127.0.0.1:4222\""), std::string::npos) << line;
}

TEST(LogTest, ParseLevel) {
  EXPECT_EQ(*ParseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarn);
  auto bad = ParseLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown log level \"loud\": want one of debug, info, warn, error");
}

}  // namespace
}  // namespace kubesync::log
