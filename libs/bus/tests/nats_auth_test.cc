// NATS with TLS and credentials (issue 10, item 11): a real nats-server with a TLS
// certificate made by openssl in the test, users with passwords, or a token. The client
// verifies the server against the CA it is given; a refusal names the server.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/testsupport/process.h"
#include "kubesync/testsupport/tls.h"

namespace kubesync::bus {
namespace {

class NatsAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = testsupport::MakeTestCerts(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status().ToString();
    certs_ = *certs;
  }

  // Starts nats-server with JetStream, TLS and `authorization` (a config file block body).
  void StartServer(const std::string& authorization) {
    port_ = testsupport::FreePort();
    const auto conf = dir_.path() / "nats.conf";
    testsupport::WriteFile(conf, "jetstream {store_dir: \"" + (dir_.path() / "js").string() + "\"}\n" +
                                     "tls {cert_file: \"" + certs_.cert.string() + "\", key_file: \"" +
                                     certs_.key.string() + "\"}\n" + "authorization {" + authorization +
                                     "}\n");
    testsupport::ProcessOptions opts;
    opts.argv = {"nats-server", "-c", conf.string(), "-a", "127.0.0.1", "-p", std::to_string(port_)};
    auto server = testsupport::StartServer(std::move(opts), port_, dir_.path() / "nats.log");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_.emplace(std::move(*server));
  }

  ConnectionOptions Options() const {
    ConnectionOptions o;
    o.url = "nats://127.0.0.1:" + std::to_string(port_);
    o.ca_file = certs_.ca.string();
    o.request_timeout = std::chrono::milliseconds(5000);
    return o;
  }

  testsupport::TempDir dir_;
  testsupport::TestCerts certs_;
  int port_ = 0;
  std::optional<testsupport::Process> server_;
};

TEST_F(NatsAuthTest, UserAndPasswordOverTlsPublishAndConsume) {
  StartServer("users = [{user: \"app\", password: \"s3cret-pw\"}]");
  ConnectionOptions o = Options();
  o.user = "app";
  o.password = "s3cret-pw";
  auto conn = Connection::Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto stream = (*conn)->EnsureStream({.id = "dr.live", .memory_storage = true});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const std::string subject = *EventsSubject("dr.live");
  ASSERT_TRUE((*conn)->Publish(subject, "over tls", "m1").ok());
  auto consumer = (*conn)->Subscribe({.stream = *stream, .durable = "d", .filter_subject = subject});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto got = (*consumer)->Fetch(1, std::chrono::milliseconds(5000));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].data(), "over tls");
}

TEST_F(NatsAuthTest, WrongPasswordIsAClearErrorNamingTheServer) {
  StartServer("users = [{user: \"app\", password: \"s3cret-pw\"}]");
  ConnectionOptions o = Options();
  o.user = "app";
  o.password = "wrong-pw";
  auto conn = Connection::Connect(o);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnauthenticated) << conn.status().ToString();
  EXPECT_NE(conn.status().message().find("connect to nats://127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << conn.status().message();
  EXPECT_NE(conn.status().message().find("Authorization Violation"), std::string::npos);
  EXPECT_NE(conn.status().message().find("(user \"app\")"), std::string::npos);
  EXPECT_EQ(conn.status().message().find("wrong-pw"), std::string::npos) << "the password is never echoed";
  // A password in the URL is not repeated either.
  ConnectionOptions in_url = Options();
  in_url.url = "nats://app:wrong-pw@127.0.0.1:" + std::to_string(port_);
  auto refused = Connection::Connect(in_url);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(refused.status().message().find("wrong-pw"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("nats://app:<redacted>@127.0.0.1"), std::string::npos)
      << refused.status().message();
}

TEST_F(NatsAuthTest, TokenAuthentication) {
  StartServer("token: \"t0ken-value\"");
  ConnectionOptions o = Options();
  o.token = "t0ken-value";
  auto conn = Connection::Connect(o);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_TRUE((*conn)->EnsureStream({.id = "dr.live", .memory_storage = true}).ok());
  o.token = "other";
  EXPECT_EQ(Connection::Connect(o).status().code(), Code::kUnauthenticated);
}

TEST_F(NatsAuthTest, AServerTheCaDidNotSignIsRefused) {
  StartServer("users = [{user: \"app\", password: \"s3cret-pw\"}]");
  ConnectionOptions o = Options();
  o.user = "app";
  o.password = "s3cret-pw";
  o.ca_file = certs_.other_ca.string();
  auto conn = Connection::Connect(o);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kFailedPrecondition) << conn.status().ToString();
  EXPECT_NE(conn.status().message().find("nats://127.0.0.1:" + std::to_string(port_)), std::string::npos);
}

TEST_F(NatsAuthTest, MissingCaOrCredsFilesAreNamed) {
  StartServer("users = [{user: \"app\", password: \"s3cret-pw\"}]");
  ConnectionOptions o = Options();
  o.ca_file = "/nonexistent/ca.pem";
  auto no_ca = Connection::Connect(o);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_EQ(no_ca.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_ca.status().message().find("/nonexistent/ca.pem"), std::string::npos)
      << no_ca.status().message();
  ConnectionOptions creds = Options();
  creds.creds_file = "/nonexistent/user.creds";
  auto no_creds = Connection::Connect(creds);
  ASSERT_FALSE(no_creds.ok());
  EXPECT_NE(no_creds.status().message().find("/nonexistent/user.creds"), std::string::npos)
      << no_creds.status().message();
}

}  // namespace
}  // namespace kubesync::bus
