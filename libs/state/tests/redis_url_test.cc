#include <gtest/gtest.h>

#include "kubesync/state/object_state.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::state {
namespace {

TEST(RedisUrlTest, ParsesHostPortDbAndPassword) {
  auto ep = ParseRedisUrl("redis://:s3cret@redis.kubesync.svc:6380/2");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->host, "redis.kubesync.svc");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->db, 2);
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->username, "");
  auto user = ParseRedisUrl("redis://app:pw@h");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->username, "app");
  EXPECT_EQ(user->password, "pw");
  EXPECT_EQ(user->port, 6379);
  EXPECT_EQ(user->db, 0);
}

TEST(RedisUrlTest, RejectsBadUrls) {
  auto scheme = ParseRedisUrl("http://h:1/0");
  ASSERT_FALSE(scheme.ok());
  EXPECT_EQ(scheme.status().message(), "redis url \"http://h:1/0\": want redis://host:port/db or rediss://");
  auto port = ParseRedisUrl("redis://h:99999/0");
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().message(), "redis url \"redis://h:99999/0\": bad port \"99999\"");
  auto db = ParseRedisUrl("redis://h:1/x");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), "redis url \"redis://h:1/x\": database \"x\" is not a number");
  EXPECT_FALSE(ParseRedisUrl("redis://:1/0").ok());
}

TEST(RedisUrlTest, RedissMeansTls) {
  auto ep = ParseRedisUrl("rediss://app:pw@redis.example:6380/1");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_TRUE(ep->tls);
  EXPECT_EQ(ep->host, "redis.example");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->username, "app");
  EXPECT_EQ(ep->password, "pw");
  EXPECT_FALSE(ParseRedisUrl("redis://h:1/0")->tls);
}

TEST(RedisUrlTest, ErrorsNeverRepeatThePassword) {
  auto bad = ParseRedisUrl("redis://app:hunter2@h:99999/0");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "redis url \"redis://app:<redacted>@h:99999/0\": bad port \"99999\"");
}

TEST(RecordKeyTest, LayoutAndValidation) {
  EXPECT_EQ(*ObjectStateStore::RecordKey("ns.ls", "apps/deployments/default/web"),
            "kubesync:ns.ls:obj:apps/deployments/default/web");
  EXPECT_EQ(*ObjectStateStore::RecordKey("ns.ls", "/namespaces//team-a"),
            "kubesync:ns.ls:obj:/namespaces//team-a");
  auto bad = ObjectStateStore::RecordKey("ns.ls", "apps/deployments/web");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "state: object key \"apps/deployments/web\" is not group/resource/namespace/name");
  auto glob = ObjectStateStore::RecordKey("ns.*", "a/b/c/d");
  ASSERT_FALSE(glob.ok());
  EXPECT_EQ(glob.status().code(), Code::kInvalidArgument);
}

TEST(RedisScriptTest, Sha1OfSource) {
  EXPECT_EQ(RedisScript("return 1").sha1, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

}  // namespace
}  // namespace kubesync::state
