#include "credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::kube::internal {
namespace {

using nlohmann::json;
using testsupport::ReadFile;
using testsupport::TempDir;
using testsupport::WriteFile;

constexpr char kV1[] = "client.authentication.k8s.io/v1";

// A plugin that records its input and run count, then prints `output`.
std::string WritePlugin(const TempDir& dir, const std::string& output) {
  std::string path = (dir.path() / "plugin.sh").string();
  WriteFile(dir.path() / "output.json", output);
  WriteFile(path,
            "#!/bin/sh\n"
            "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/exec_info.json\"\n"
            "printf '%s %s\\n' \"$1\" \"$PLUGIN_ENV\" >> \"$(dirname \"$0\")/runs.txt\"\n"
            "cat \"$(dirname \"$0\")/output.json\"\n");
  chmod(path.c_str(), 0755);
  return path;
}

int Runs(const TempDir& dir) {
  std::string runs = ReadFile(dir.path() / "runs.txt");
  return static_cast<int>(std::count(runs.begin(), runs.end(), '\n'));
}

TEST(ExecCredentialTest, ParsesTokenCertAndExpiry) {
  ExecConfig exec{kV1, "p"};
  Result<Credential> c =
      ParseExecCredential(exec, R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
               "status":{"token":"t1","expirationTimestamp":"2030-01-02T03:04:05Z"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "t1");
  ASSERT_TRUE(c->expiry.has_value());
  EXPECT_EQ(FormatRfc3339(*c->expiry), "2030-01-02T03:04:05Z");

  Result<Credential> cert =
      ParseExecCredential(exec, R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
               "status":{"clientCertificateData":"C","clientKeyData":"K"}})");
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->client_cert_pem, "C");

  EXPECT_EQ(ParseExecCredential(exec, R"({"apiVersion":"client.authentication.k8s.io/v1beta1",
                                          "kind":"ExecCredential","status":{"token":"x"}})")
                .status()
                .message(),
            "exec plugin p: output apiVersion \"client.authentication.k8s.io/v1beta1\" does not match the "
            "configured \"client.authentication.k8s.io/v1\"");
  EXPECT_EQ(ParseExecCredential(exec, "not json").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(ParseExecCredential(exec, R"({"apiVersion":"client.authentication.k8s.io/v1",
                                          "kind":"ExecCredential","status":{}})")
                .status()
                .message(),
            "exec plugin p: status has neither token nor clientCertificateData");
}

TEST(ExecCredentialTest, ExecInfoCarriesClusterWhenAsked) {
  ExecConfig exec{kV1, "p"};
  ClusterInfo cluster;
  cluster.server = "https://k:6443";
  cluster.certificate_authority_data = "CA";
  json plain = json::parse(BuildExecInfo(exec, cluster));
  EXPECT_EQ(plain,
            (json{{"apiVersion", kV1}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}}));
  exec.provide_cluster_info = true;
  json with = json::parse(BuildExecInfo(exec, cluster));
  EXPECT_EQ(with["spec"]["cluster"]["server"], "https://k:6443");
  EXPECT_EQ(with["spec"]["cluster"]["certificate-authority-data"], "Q0E=");
}

TEST(ExecCredentialTest, RunsThePluginWithArgsEnvAndExecInfo) {
  TempDir dir;
  ExecConfig exec{kV1, WritePlugin(dir, "{}"), {"first-arg"}, {{"PLUGIN_ENV", "env-value"}}};
  Result<ExecResult> run = RunExecPlugin(exec, "{\"x\":1}", std::chrono::seconds(10));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->stdout_text, "{}");
  EXPECT_EQ(ReadFile(dir.path() / "exec_info.json"), "{\"x\":1}");
  EXPECT_EQ(ReadFile(dir.path() / "runs.txt"), "first-arg env-value\n");
}

TEST(ExecCredentialTest, KillsAPluginThatHangs) {
  ExecConfig exec{kV1, "sleep", {"30"}};
  auto start = std::chrono::steady_clock::now();
  Result<ExecResult> run = RunExecPlugin(exec, "{}", std::chrono::milliseconds(200));
  EXPECT_EQ(run.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ExecConfig missing{kV1, "/nonexistent/plugin"};
  EXPECT_EQ(RunExecPlugin(missing, "{}", std::chrono::seconds(1)).status().code(), Code::kUnauthenticated);
}

TEST(CredentialSourceTest, CachesExecOutputUntilExpiryAndRerunsOnInvalidate) {
  TempDir dir;
  kubesync::testing::FakeClock clock(ParseRfc3339("2030-01-01T00:00:00Z").value());
  RestConfig rc;
  rc.auth.exec = ExecConfig{kV1, WritePlugin(dir, R"({"apiVersion":"client.authentication.k8s.io/v1",
      "kind":"ExecCredential","status":{"token":"tok","expirationTimestamp":"2030-01-01T00:10:00Z"}})")};
  CredentialSource source(rc, &clock, std::chrono::seconds(10), std::chrono::seconds(60));
  ASSERT_EQ(source.Get()->token, "tok");
  ASSERT_EQ(source.Get()->token, "tok");
  EXPECT_EQ(Runs(dir), 1);
  clock.Advance(std::chrono::minutes(11));
  ASSERT_TRUE(source.Get().ok());
  EXPECT_EQ(Runs(dir), 2) << "expired: re-run";
  EXPECT_TRUE(source.Invalidate());
  ASSERT_TRUE(source.Get().ok());
  EXPECT_EQ(Runs(dir), 3) << "after a 401: re-run";
}

TEST(CredentialSourceTest, RereadsTokenFilePeriodicallyAndOnInvalidate) {
  TempDir dir;
  kubesync::testing::FakeClock clock;
  WriteFile(dir.path() / "token", "one\n");
  RestConfig rc;
  rc.auth.token_file = (dir.path() / "token").string();
  CredentialSource source(rc, &clock, std::chrono::seconds(10), std::chrono::seconds(60));
  EXPECT_EQ(source.Get()->token, "one");
  WriteFile(dir.path() / "token", "two");
  EXPECT_EQ(source.Get()->token, "one") << "cached within the refresh period";
  clock.Advance(std::chrono::seconds(61));
  EXPECT_EQ(source.Get()->token, "two");
  WriteFile(dir.path() / "token", "three");
  EXPECT_TRUE(source.Invalidate());
  EXPECT_EQ(source.Get()->token, "three");

  RestConfig fixed;
  fixed.auth.token = "static";
  CredentialSource s2(fixed, &clock, std::chrono::seconds(10), std::chrono::seconds(60));
  EXPECT_EQ(s2.Get()->token, "static");
  EXPECT_FALSE(s2.Invalidate()) << "a static token cannot get better";
}

}  // namespace
}  // namespace kubesync::kube::internal
