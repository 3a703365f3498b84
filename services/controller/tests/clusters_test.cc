// What a kubeconfig stored in a Secret may hold.
#include "clusters.h"

#include <gtest/gtest.h>

namespace kubesync::controller {
namespace {

kube::Kubeconfig MustParse(const std::string& users_yaml, const std::string& cluster_extra = "") {
  auto parsed = kube::Kubeconfig::Parse(
      "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
      "clusters:\n- name: dest\n  cluster:\n    server: https://127.0.0.1:6443\n" +
      cluster_extra +
      "contexts:\n- name: c\n  context: {cluster: dest, user: u}\n"
      "users:\n- name: u\n  user:\n" +
      users_yaml);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : kube::Kubeconfig{};
}

TEST(CheckSecretKubeconfigTest, InlineCredentialsAreAccepted) {
  EXPECT_TRUE(CheckSecretKubeconfig(MustParse("    token: abc\n")).ok());
  EXPECT_TRUE(
      CheckSecretKubeconfig(MustParse("    client-certificate-data: Zm9v\n    client-key-data: YmFy\n",
                                      "    certificate-authority-data: Zm9v\n"))
          .ok());
}

TEST(CheckSecretKubeconfigTest, ExecPluginsAndFilePathsAreRefusedEachNamed) {
  Status refused = CheckSecretKubeconfig(
      MustParse("    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"
                "    client-certificate: /etc/cert.pem\n    client-key: /etc/key.pem\n"
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n",
                "    certificate-authority: /etc/ca.pem\n"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kInvalidArgument);
  for (const char* field :
       {"clusters[dest].cluster.certificate-authority", "users[u].user.exec", "users[u].user.tokenFile",
        "users[u].user.client-certificate", "users[u].user.client-key"}) {
    EXPECT_NE(refused.message().find(field), std::string::npos) << field << " in " << refused.message();
  }
}

}  // namespace
}  // namespace kubesync::controller
