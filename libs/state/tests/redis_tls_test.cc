// Redis over TLS with a password (issue 10, item 11): a real redis-server with --tls-port
// and requirepass, certificates made by openssl in the test. The client verifies the
// server against the CA it is given, and every refusal names the server.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>

#include "kubesync/state/redis_client.h"
#include "kubesync/testsupport/process.h"
#include "kubesync/testsupport/tls.h"

namespace kubesync::state {
namespace {

constexpr char kPassword[] = "correct-horse-battery-staple";

class RedisTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = testsupport::MakeTestCerts(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status().ToString();
    certs_ = *certs;
    port_ = testsupport::FreePort();
    testsupport::ProcessOptions opts;
    opts.argv = {"redis-server",
                 "--port",
                 "0",
                 "--tls-port",
                 std::to_string(port_),
                 "--bind",
                 "127.0.0.1",
                 "--tls-cert-file",
                 certs_.cert.string(),
                 "--tls-key-file",
                 certs_.key.string(),
                 "--tls-ca-cert-file",
                 certs_.ca.string(),
                 "--tls-auth-clients",
                 "no",
                 "--requirepass",
                 kPassword,
                 "--save",
                 "",
                 "--appendonly",
                 "no",
                 "--dir",
                 dir_.path().string()};
    auto server = testsupport::StartServer(std::move(opts), port_, dir_.path() / "redis.log");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_.emplace(std::move(*server));
  }

  std::string Url(const std::string& scheme = "rediss") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/0";
  }

  testsupport::TempDir dir_;
  testsupport::TestCerts certs_;
  int port_ = 0;
  std::optional<testsupport::Process> server_;
};

TEST_F(RedisTlsTest, ConnectsWithTheCaAndPasswordAndRunsCommands) {
  auto client = RedisClient::Connect(
      {.url = Url(), .pool_size = 2, .password = kPassword, .ca_file = certs_.ca.string()});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE((*client)->Command({"SET", "k", "over tls"}).ok());
  auto got = (*client)->Pipeline({{"GET", "k"}, {"PING"}});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)[0].str, "over tls");
  EXPECT_EQ((*got)[1].str, "PONG");
  // A big value crosses many TLS records both ways.
  const std::string big(3 << 20, 'x');
  ASSERT_TRUE((*client)->Command({"SET", "big", big}).ok());
  auto back = (*client)->Command({"GET", "big"});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->str.size(), big.size());
  // The password may also come in the URL.
  auto in_url = RedisClient::Connect(
      {.url = "rediss://:" + std::string(kPassword) + "@127.0.0.1:" + std::to_string(port_) + "/0",
       .ca_file = certs_.ca.string()});
  EXPECT_TRUE(in_url.ok()) << in_url.status().ToString();
}

TEST_F(RedisTlsTest, WrongPasswordIsAClearErrorNamingTheServer) {
  auto client = RedisClient::Connect({.url = Url(), .password = "wrong", .ca_file = certs_.ca.string()});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(client.status().message().rfind("rediss 127.0.0.1:" + std::to_string(port_) + ": AUTH failed", 0),
            0u)
      << client.status().message();
  EXPECT_EQ(client.status().message().find("wrong"), std::string::npos) << "the password is never echoed";
  auto none = RedisClient::Connect({.url = Url(), .ca_file = certs_.ca.string()});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("NOAUTH"), std::string::npos) << none.status().ToString();
}

TEST_F(RedisTlsTest, AServerTheCaDidNotSignIsRefused) {
  auto client =
      RedisClient::Connect({.url = Url(), .password = kPassword, .ca_file = certs_.other_ca.string()});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(client.status().message().find("rediss 127.0.0.1:" + std::to_string(port_) +
                                           ": TLS handshake failed: certificate verification failed"),
            std::string::npos)
      << client.status().message();
}

TEST_F(RedisTlsTest, PlainTextToATlsPortOrAMissingCaFileFail) {
  auto plain = RedisClient::Connect(
      {.url = Url("redis"), .connect_timeout = std::chrono::milliseconds(2000), .password = kPassword});
  EXPECT_FALSE(plain.ok());
  auto missing =
      RedisClient::Connect({.url = Url(), .password = kPassword, .ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("/nonexistent/ca.pem"), std::string::npos);
  auto ca_without_tls = RedisClient::Connect({.url = Url("redis"), .ca_file = certs_.ca.string()});
  ASSERT_FALSE(ca_without_tls.ok());
  EXPECT_EQ(ca_without_tls.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kubesync::state
