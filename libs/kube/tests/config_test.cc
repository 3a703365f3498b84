#include "kubesync/kube/config.h"

#include <gtest/gtest.h>

#include "kubesync/core/base64.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::kube {
namespace {

using ::kubesync::Base64Encode;
using testsupport::TempDir;
using testsupport::WriteFile;

std::string FullKubeconfig() {
  return R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: )" +
         Base64Encode("CA-PEM") + R"(
    tls-server-name: kubernetes.default
    proxy-url: http://proxy:3128
- name: dev-cluster
  cluster:
    server: https://dev:443
    insecure-skip-tls-verify: true
contexts:
- name: prod
  context: {cluster: prod-cluster, user: token-user, namespace: team-a}
- name: dev
  context: {cluster: dev-cluster, user: exec-user}
- name: certs
  context: {cluster: prod-cluster, user: cert-user}
users:
- name: token-user
  user: {token: abc123}
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token]
      env: [{name: AWS_PROFILE, value: prod}]
      provideClusterInfo: true
      interactiveMode: Never
- name: cert-user
  user:
    client-certificate-data: )" +
         Base64Encode("CERT-PEM") + R"(
    client-key-data: )" +
         Base64Encode("KEY-PEM") + R"(
)";
}

TEST(KubeconfigTest, ParsesContextsClustersAndUsers) {
  Result<Kubeconfig> config = Kubeconfig::Parse(FullKubeconfig());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->current_context(), "prod");
  ASSERT_EQ(config->clusters().size(), 2u);
  ASSERT_EQ(config->users().size(), 3u);

  Result<RestConfig> prod = config->ToRestConfig();
  ASSERT_TRUE(prod.ok()) << prod.status().ToString();
  EXPECT_EQ(prod->server, "https://10.0.0.1:6443");
  EXPECT_EQ(prod->tls.ca_pem, "CA-PEM");
  EXPECT_EQ(prod->tls.server_name, "kubernetes.default");
  EXPECT_EQ(prod->proxy_url, "http://proxy:3128");
  EXPECT_FALSE(prod->tls.insecure_skip_verify);
  EXPECT_EQ(prod->auth.token, "abc123");
  EXPECT_EQ(prod->default_namespace, "team-a");

  Result<RestConfig> dev = config->ToRestConfig("dev");
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_TRUE(dev->tls.insecure_skip_verify);
  EXPECT_EQ(dev->default_namespace, "default");
  ASSERT_TRUE(dev->auth.exec.has_value());
  EXPECT_EQ(dev->auth.exec->api_version, "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(dev->auth.exec->command, "aws");
  EXPECT_EQ(dev->auth.exec->args, (std::vector<std::string>{"eks", "get-token"}));
  ASSERT_EQ(dev->auth.exec->env.size(), 1u);
  EXPECT_EQ(dev->auth.exec->env[0].name, "AWS_PROFILE");
  EXPECT_TRUE(dev->auth.exec->provide_cluster_info);

  Result<RestConfig> certs = config->ToRestConfig("certs");
  ASSERT_TRUE(certs.ok());
  EXPECT_EQ(certs->tls.client_cert_pem, "CERT-PEM");
  EXPECT_EQ(certs->tls.client_key_pem, "KEY-PEM");
}

TEST(KubeconfigTest, BadBase64NamesTheField) {
  std::string yaml = R"(
clusters: [{name: c, cluster: {server: "https://a:1"}}]
users:
- name: u
  user:
    client-certificate-data: )" +
                     Base64Encode("x") + R"(
    client-key-data: "%%%not base64"
)";
  Result<Kubeconfig> config = Kubeconfig::Parse(yaml);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(config.status().message(), "users[0].user.client-key-data: not valid base64");
}

TEST(KubeconfigTest, FieldErrors) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  std::vector<Case> cases = {
      {"clusters: [{name: a, cluster: {insecure-skip-tls-verify: true}}]",
       "clusters[0].cluster.server: required"},
      {"clusters: [{name: a, cluster: {server: ftp://x}}]",
       "clusters[0].cluster.server: must be an http:// or https:// URL, got \"ftp://x\""},
      {"clusters: [{name: a, cluster: {server: 'https://x', insecure-skip-tls-verify: maybe}}]",
       "clusters[0].cluster.insecure-skip-tls-verify: must be true or false"},
      {"clusters: [{cluster: {server: 'https://x'}}]", "clusters[0].name: required"},
      {"clusters: {a: b}", "clusters: must be a list"},
      {"users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}]",
       "users[0].user.exec.apiVersion: must be client.authentication.k8s.io/v1 or "
       "client.authentication.k8s.io/v1beta1, got \"client.authentication.k8s.io/v1alpha1\""},
      {"users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1}}}]",
       "users[0].user.exec.command: required"},
      {"users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: x, env: "
       "[{value: "
       "v}]}}}]",
       "users[0].user.exec.env[0].name: required"},
      {"users: [{name: u, user: {client-certificate: /a}}]",
       "users[0].user.client-key: required together with client-certificate"},
      {"users: [{name: u, user: {token: [a, b]}}]", "users[0].user.token: must be a string"},
      {"contexts: [{name: c, context: {user: u}}]", "contexts[0].context.cluster: required"},
  };
  for (const auto& c : cases) {
    Result<Kubeconfig> config = Kubeconfig::Parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), Code::kInvalidArgument) << c.yaml;
    EXPECT_EQ(config.status().message(), c.message) << c.yaml;
  }
}

TEST(KubeconfigTest, NotYamlAndEmpty) {
  Result<Kubeconfig> bad = Kubeconfig::Parse("clusters: [unclosed");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("kubeconfig: not valid YAML", 0), 0u) << bad.status().message();
  Result<Kubeconfig> empty = Kubeconfig::Parse("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "kubeconfig: empty document");
}

TEST(KubeconfigTest, UnknownContextClusterOrUser) {
  Result<Kubeconfig> config = Kubeconfig::Parse(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://a:1"}}]
contexts: [{name: x, context: {cluster: missing}}, {name: y, context: {cluster: c, user: nobody}}]
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->ToRestConfig().status().message(),
            "kubeconfig: cluster \"missing\" of context \"x\" not found");
  EXPECT_EQ(config->ToRestConfig("y").status().message(),
            "kubeconfig: user \"nobody\" of context \"y\" not found");
  EXPECT_EQ(config->ToRestConfig("z").status().code(), Code::kNotFound);
  Result<Kubeconfig> none = Kubeconfig::Parse("clusters: []");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->ToRestConfig().status().code(), Code::kFailedPrecondition);
}

TEST(KubeconfigTest, FilePathsResolveAgainstTheKubeconfigDirectory) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "pki");
  WriteFile(dir.path() / "pki/ca.crt", "CA FROM FILE");
  WriteFile(dir.path() / "pki/client.crt", "CERT FROM FILE");
  WriteFile(dir.path() / "pki/client.key", "KEY FROM FILE");
  WriteFile(dir.path() / "config", R"(
current-context: c
clusters: [{name: c, cluster: {server: "https://a:1", certificate-authority: pki/ca.crt}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {client-certificate: pki/client.crt, client-key: pki/client.key, tokenFile: pki/token,
         exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/plugin}}}]
)");
  Result<Kubeconfig> config = Kubeconfig::LoadFile(dir.path() / "config");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<RestConfig> rc = config->ToRestConfig();
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->tls.ca_pem, "CA FROM FILE");
  EXPECT_EQ(rc->tls.client_cert_pem, "CERT FROM FILE");
  EXPECT_EQ(rc->tls.client_key_pem, "KEY FROM FILE");
  EXPECT_EQ(rc->auth.token_file, (dir.path() / "pki/token").string());
  EXPECT_EQ(rc->auth.exec->command, (dir.path() / "bin/plugin").string());

  std::filesystem::remove(dir.path() / "pki/client.key");
  Result<RestConfig> missing = config->ToRestConfig();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "users[0].user.client-key: cannot read file " + (dir.path() / "pki/client.key").string());
}

TEST(KubeconfigTest, LoadFileErrorsNameTheFile) {
  TempDir dir;
  WriteFile(dir.path() / "bad", "users: [{name: u, user: {client-key-data: '!'}}]");
  Result<Kubeconfig> config = Kubeconfig::LoadFile(dir.path() / "bad");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            (dir.path() / "bad").string() + ": users[0].user.client-key-data: not valid base64");
}

TEST(InClusterConfigTest, ReadsServiceAccountFilesAndEnvironment) {
  TempDir dir;
  WriteFile(dir.path() / "token", "sa-token\n");
  WriteFile(dir.path() / "ca.crt", "SA CA");
  WriteFile(dir.path() / "namespace", "kubesync-system\n");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  InClusterOptions options;
  options.service_account_dir = dir.path();
  options.getenv = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  Result<RestConfig> rc = InClusterConfig(options);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://[fd00::1]:443");
  EXPECT_EQ(rc->auth.token_file, (dir.path() / "token").string());
  EXPECT_EQ(rc->tls.ca_pem, "SA CA");
  EXPECT_EQ(rc->default_namespace, "kubesync-system");

  env["POD_NAMESPACE"] = "from-env";
  EXPECT_EQ(InClusterConfig(options)->default_namespace, "from-env");

  env.erase("KUBERNETES_SERVICE_HOST");
  Result<RestConfig> outside = InClusterConfig(options);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace kubesync::kube
