// Connection settings for a Kubernetes API server: the kubeconfig model (clusters,
// contexts, users), its loaders (file or bytes, e.g. the `kubeconfig.yaml` key of a
// Secret), and in-cluster service-account configuration. Everything here is plain data;
// nothing talks to a server. Parse errors name the field, e.g.
// `users[0].user.client-key-data: not valid base64`.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::kube {

struct ExecEnvVar {
  std::string name;
  std::string value;
};

// users[].user.exec: a credential plugin (client.authentication.k8s.io/v1 or v1beta1).
struct ExecConfig {
  std::string api_version;
  std::string command;
  std::vector<std::string> args;
  std::vector<ExecEnvVar> env;
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never, IfAvailable, Always (we never run interactively)
};

struct ClusterInfo {
  std::string server;
  std::string certificate_authority;       // path, resolved against the kubeconfig's dir
  std::string certificate_authority_data;  // decoded PEM
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;
};

struct AuthInfo {
  std::string token;
  std::string token_file;
  std::string client_certificate;       // path
  std::string client_certificate_data;  // decoded PEM
  std::string client_key;               // path
  std::string client_key_data;          // decoded PEM
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;
};

struct ContextInfo {
  std::string cluster;
  std::string user;
  std::string namespace_;
};

template <typename T>
struct Named {
  std::string name;
  T value;
};

// TLS material, ready to use (PEM bytes, not paths).
struct TlsConfig {
  std::string ca_pem;  // empty: the system trust store
  bool insecure_skip_verify = false;
  std::string server_name;  // SNI and certificate name to verify instead of the URL host
  std::string client_cert_pem;
  std::string client_key_pem;
};

struct AuthConfig {
  std::string token;
  std::string token_file;  // re-read periodically and after a 401
  std::string username;    // basic auth
  std::string password;
  std::optional<ExecConfig> exec;
};

// One resolved context: everything a Client needs to connect. Immutable once built.
struct RestConfig {
  std::string server;  // "https://host:port", maybe with a path prefix
  TlsConfig tls;
  AuthConfig auth;
  std::string proxy_url;  // empty: libcurl's environment defaults
  std::string default_namespace = "default";
  std::string context_name;
  // Cluster info handed to exec plugins with provideClusterInfo (server, CA, ...).
  ClusterInfo cluster;
};

class Kubeconfig {
 public:
  // Parses kubeconfig YAML. Relative file paths resolve against `base_dir` (the directory
  // of the kubeconfig file, as kubectl does).
  static Result<Kubeconfig> Parse(std::string_view yaml, const std::filesystem::path& base_dir = {});
  static Result<Kubeconfig> LoadFile(const std::filesystem::path& path);

  // Resolves a context (the current one when `context` is empty) into a RestConfig, reading
  // referenced certificate files. Errors name the missing/invalid field.
  Result<RestConfig> ToRestConfig(std::string_view context = "") const;

  const std::string& current_context() const { return current_context_; }
  const std::vector<Named<ClusterInfo>>& clusters() const { return clusters_; }
  const std::vector<Named<ContextInfo>>& contexts() const { return contexts_; }
  const std::vector<Named<AuthInfo>>& users() const { return users_; }

 private:
  std::string current_context_;
  std::vector<Named<ClusterInfo>> clusters_;
  std::vector<Named<ContextInfo>> contexts_;
  std::vector<Named<AuthInfo>> users_;
};

struct InClusterOptions {
  // Environment lookup; defaults to getenv. Injected by tests.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::filesystem::path service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the service-account token file
// (re-read like a kubeconfig tokenFile), ca.crt, and the namespace file or $POD_NAMESPACE.
// kFailedPrecondition when not running in a cluster.
Result<RestConfig> InClusterConfig(const InClusterOptions& options = {});

}  // namespace kubesync::kube
