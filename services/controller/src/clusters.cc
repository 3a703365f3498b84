#include "clusters.h"

#include "kubesync/core/base64.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/transport.h"
#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

Status CheckSecretKubeconfig(const kube::Kubeconfig& config) {
  // Whoever can write the Secret must not make the controller (or the components it starts
  // with this kubeconfig) run a command or read files of its own, such as its
  // service-account token: only inline credentials and certificates are accepted.
  std::vector<std::string> refused;
  for (const auto& cluster : config.clusters()) {
    if (!cluster.value.certificate_authority.empty()) {
      refused.push_back("clusters[" + cluster.name + "].cluster.certificate-authority");
    }
  }
  for (const auto& user : config.users()) {
    const std::string at = "users[" + user.name + "].user.";
    if (user.value.exec) refused.push_back(at + "exec");
    if (!user.value.token_file.empty()) refused.push_back(at + "tokenFile");
    if (!user.value.client_certificate.empty()) refused.push_back(at + "client-certificate");
    if (!user.value.client_key.empty()) refused.push_back(at + "client-key");
  }
  if (refused.empty()) return OkStatus();
  std::string fields;
  for (const auto& f : refused) fields += (fields.empty() ? "" : ", ") + f;
  return InvalidArgumentError(fields +
                              ": not allowed in a kubeconfig stored in a Secret (file paths and exec plugins "
                              "would run or read on the controller's host); use token, "
                              "certificate-authority-data, client-certificate-data and client-key-data");
}

ClusterResolver::ClusterResolver(kube::Client& management, kube::ClientOptions client_options)
    : management_(management), client_options_(client_options) {}

Result<ResolvedCluster> ClusterResolver::Resolve(const std::string& ns, const std::string& name) {
  const std::string what = "KubernetesCluster \"" + name + "\" in namespace \"" + ns + "\"";
  if (name.empty()) return InvalidArgumentError("no KubernetesCluster name given");
  auto cluster = management_.Get({.group = std::string(kAssetsGroup),
                                  .version = std::string(kApiVersion),
                                  .resource = "kubernetesclusters",
                                  .ns = ns,
                                  .name = name});
  if (!cluster.ok()) {
    if (cluster.status().code() == Code::kNotFound) return NotFoundError(what + " does not exist");
    return Status(cluster.status().code(), what + ": " + cluster.status().message());
  }
  auto secret_field = ReadString(*cluster, "spec.secretName");
  if (!secret_field.ok()) return InvalidArgumentError(what + ": " + secret_field.status().message());
  const std::string secret_name = secret_field->value_or("");
  if (secret_name.empty()) return InvalidArgumentError(what + ": spec.secretName: Required value");
  auto secret =
      management_.Get({.group = "", .version = "v1", .resource = "secrets", .ns = ns, .name = secret_name});
  if (!secret.ok()) {
    if (secret.status().code() == Code::kNotFound) {
      return NotFoundError(what + ": Secret \"" + secret_name + "\" does not exist");
    }
    return Status(secret.status().code(),
                  what + ": Secret \"" + secret_name + "\": " + secret.status().message());
  }
  const json data = secret->value("data", json::object());
  if (!data.is_object() || !data.contains(kKubeconfigKey) || !data[std::string(kKubeconfigKey)].is_string()) {
    return InvalidArgumentError(what + ": Secret \"" + secret_name + "\" has no key \"" +
                                std::string(kKubeconfigKey) +
                                "\" (create it with kubectl create secret generic " + secret_name +
                                " --from-file=kubeconfig.yaml=<file>)");
  }
  auto decoded = Base64Decode(data[std::string(kKubeconfigKey)].get<std::string>());
  if (!decoded) {
    return InvalidArgumentError(what + ": Secret \"" + secret_name +
                                "\" key \"kubeconfig.yaml\" is not valid base64");
  }
  const std::string where = what + ": Secret \"" + secret_name + "\" key \"kubeconfig.yaml\": ";
  auto parsed = kube::Kubeconfig::Parse(*decoded);
  if (!parsed.ok()) return Status(parsed.status().code(), where + parsed.status().message());
  if (Status allowed = CheckSecretKubeconfig(*parsed); !allowed.ok()) {
    return Status(allowed.code(), where + allowed.message());
  }
  return ResolvedCluster{std::move(*decoded), std::move(*cluster)};
}

Result<std::shared_ptr<kube::Client>> ClusterResolver::ClientFor(const std::string& kubeconfig, bool probe) {
  std::lock_guard lock(mu_);
  const auto key = std::make_pair(kubeconfig, probe);
  if (auto it = clients_.find(key); it != clients_.end()) return it->second;
  KS_ASSIGN_OR_RETURN(auto parsed, kube::Kubeconfig::Parse(kubeconfig));
  KS_ASSIGN_OR_RETURN(auto rest, parsed.ToRestConfig());
  kube::ClientOptions options = client_options_;
  kube::CurlTransportOptions transport;
  if (probe) {
    options.max_retries = 0;
    transport.connect_timeout = kProbeConnectTimeout;
    transport.request_timeout = kProbeRequestTimeout;
  }
  KS_ASSIGN_OR_RETURN(auto client, kube::Client::Create(rest, options, transport));
  std::shared_ptr<kube::Client> shared = std::move(client);
  if (clients_.size() > 64) clients_.clear();  // rotated kubeconfigs: keep the cache bounded
  clients_[key] = shared;
  return shared;
}

Result<std::string> ClusterResolver::ServerVersion(kube::Client& client) {
  KS_ASSIGN_OR_RETURN(json version, client.GetPath("/version"));
  if (!version.is_object() || !version.contains("gitVersion") || !version["gitVersion"].is_string()) {
    return InvalidArgumentError("/version reply has no gitVersion");
  }
  return version["gitVersion"].get<std::string>();
}

}  // namespace kubesync::controller
