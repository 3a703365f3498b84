#include "kubesync/service/options.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kubesync::service {

void AddCommonFlags(CLI::App& app, CommonOptions& o) {
  app.add_option("--plan", o.plan_file, "LiveSynchronization YAML or normalized plan JSON")->required();
  app.add_option("--source-kubeconfig", o.source_kubeconfig,
                 "kubeconfig of the source cluster (empty: in-cluster service account)");
  app.add_option("--destination-kubeconfig", o.destination_kubeconfig,
                 "kubeconfig of the destination cluster (empty: in-cluster service account)");
  app.add_option("--nats-url", o.nats_url, "NATS server URL")->capture_default_str();
  app.add_option("--redis-url", o.redis_url, "Redis URL redis://[:password@]host:port/db")->capture_default_str();
  app.add_option("--log-level", o.log_level, "debug, info, warn or error (default: the plan's, else info)");
  app.add_option("--consumer-id", o.consumer_id, "identity of this replica in logs (default <component>-<pid>)");
  app.add_option("--operator-namespace", o.operator_namespace, "namespace kubesync runs in (never replicated)");
  app.add_option("--partitions", o.partitions, "sync subject partitions (processor and synchronizer must agree)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--kube-qps", o.kube_qps, "client-side rate limit towards each cluster, requests/s")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--kube-burst", o.kube_burst, "burst above --kube-qps")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--nats-user", o.nats_user,
                 "NATS user (password from --nats-password-file or $KUBESYNC_NATS_PASSWORD)");
  app.add_option("--nats-password-file", o.nats_password_file, "file holding the NATS password");
  app.add_option("--nats-token-file", o.nats_token_file,
                 "file holding a NATS token (else $KUBESYNC_NATS_TOKEN)");
  app.add_option("--nats-creds-file", o.nats_creds_file, "NATS .creds file (user JWT and nkey seed)");
  app.add_option("--nats-ca-file", o.nats_ca_file, "CA certificate (PEM) of the NATS server; turns TLS on");
  app.add_option("--nats-inbox-prefix", o.nats_inbox_prefix, "subject prefix of NATS reply inboxes");
  app.add_option("--redis-user", o.redis_user, "Redis ACL user (default: the URL's)");
  app.add_option("--redis-password-file", o.redis_password_file,
                 "file holding the Redis password (else $KUBESYNC_REDIS_PASSWORD, else the URL's)");
  app.add_option("--redis-ca-file", o.redis_ca_file,
                 "CA certificate (PEM) of the Redis server (rediss:// URLs)");
}

Result<std::string> ReadSecret(const std::string& flag, const std::string& path, const char* env) {
  if (path.empty()) {
    const char* value = std::getenv(env);
    return std::string(value != nullptr ? value : "");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError(flag + " " + path + ": cannot read: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    return InvalidArgumentError(flag + " " + path + ": the file is empty");
  }
  return secret;
}

Result<Credentials> LoadCredentials(const CommonOptions& o) {
  Credentials c;
  KS_ASSIGN_OR_RETURN(c.nats_password,
                      ReadSecret("--nats-password-file", o.nats_password_file, "KUBESYNC_NATS_PASSWORD"));
  KS_ASSIGN_OR_RETURN(c.nats_token,
                      ReadSecret("--nats-token-file", o.nats_token_file, "KUBESYNC_NATS_TOKEN"));
  KS_ASSIGN_OR_RETURN(c.redis_password,
                      ReadSecret("--redis-password-file", o.redis_password_file, "KUBESYNC_REDIS_PASSWORD"));
  if (!c.nats_password.empty() && o.nats_user.empty()) {
    return InvalidArgumentError("--nats-user is required with a NATS password");
  }
  return c;
}

}  // namespace kubesync::service
