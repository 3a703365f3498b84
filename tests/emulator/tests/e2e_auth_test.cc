// End-to-end authentication and authorisation over TLS: tokens, client certificates,
// readers, and the generated kubeconfigs.
#include "e2e_util.h"

namespace kubesync::emulator::testing {
namespace {

constexpr char kCms[] = "/api/v1/namespaces/default/configmaps";

std::unique_ptr<httplib::Client> TlsClient(const Emulator& emu) {
  auto cli = std::make_unique<httplib::Client>(emu.url());
  cli->set_ca_cert_path(emu.ca_path().string());
  cli->enable_server_certificate_verification(true);
  return cli;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions o;
    o.tls = true;
    o.token_users = {{"admin", "admin"}, {"viewer", "reader"}};
    o.cert_users = {{"certy", "admin"}, {"certro", "reader"}};
    emu_ = StartEmulator(o);
    ASSERT_NE(emu_, nullptr);
  }
  std::unique_ptr<Emulator> emu_;
};

TEST_F(AuthTest, TokensOverTls) {
  EXPECT_EQ(emu_->url().rfind("https://127.0.0.1:", 0), 0u);
  auto cli = TlsClient(*emu_);
  cli->set_bearer_token_auth(emu_->token("admin"));
  auto r = cli->Post(kCms, ConfigMap("a").dump(), "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 201);

  auto bad = TlsClient(*emu_);
  bad->set_bearer_token_auth("wrong");
  r = bad->Get(kCms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["reason"], "Unauthorized");
  EXPECT_EQ(body["code"], 401);
  r = TlsClient(*emu_)->Get(kCms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = TlsClient(*emu_)->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(AuthTest, ReaderCanReadButNotWrite) {
  auto cli = TlsClient(*emu_);
  cli->set_bearer_token_auth(emu_->token("viewer"));
  auto r = cli->Get(kCms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = cli->Post(kCms, ConfigMap("a").dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["reason"], "Forbidden");
  EXPECT_NE(body["message"].get<std::string>().find("\"viewer\" cannot create resource \"configmaps\""),
            std::string::npos);
  r = cli->Post("/emulator/compact", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(*emu_->CountRequests("create", "configmaps"), 1);
}

TEST_F(AuthTest, ClientCertificates) {
  const auto dir = emu_->work_dir();
  httplib::Client admin(emu_->url(), (dir / "certy.crt").string(), (dir / "certy.key").string());
  admin.set_ca_cert_path(emu_->ca_path().string());
  admin.enable_server_certificate_verification(true);
  auto r = admin.Post(kCms, ConfigMap("c").dump(), "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 201);
  httplib::Client reader(emu_->url(), (dir / "certro.crt").string(), (dir / "certro.key").string());
  reader.set_ca_cert_path(emu_->ca_path().string());
  r = reader.Post(kCms, ConfigMap("d").dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  auto counters = emu_->Counters();
  ASSERT_TRUE(counters.ok());
  bool seen = false;
  for (const auto& c : *counters) seen |= c.user == "certy" && c.verb == "create";
  EXPECT_TRUE(seen);
}

TEST_F(AuthTest, KubeconfigsAreWritten) {
  for (const char* user : {"admin", "viewer", "certy"}) {
    const std::string text = testsupport::ReadFile(emu_->kubeconfig_path(user));
    EXPECT_NE(text.find("server: " + emu_->url()), std::string::npos) << user;
    EXPECT_NE(text.find("certificate-authority-data: "), std::string::npos) << user;
  }
  EXPECT_NE(testsupport::ReadFile(emu_->kubeconfig_path("viewer")).find("token: " + emu_->token("viewer")),
            std::string::npos);
}

}  // namespace
}  // namespace kubesync::emulator::testing
