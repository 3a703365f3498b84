// Flags every kubesync component binary accepts, parsed once into a plain struct (the
// controller passes the same flags when it starts a component set).
#pragma once

#include <string>

#include "kubesync/core/status.h"

namespace CLI {
class App;
}

namespace kubesync::service {

struct CommonOptions {
  std::string plan_file;               // LiveSynchronization YAML or normalized plan JSON
  std::string source_kubeconfig;       // "" = in-cluster service account
  std::string destination_kubeconfig;  // "" = in-cluster service account
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string log_level;    // "" = the plan's components.<name>.logLevel, else info
  std::string consumer_id;  // "" = "<component>-<pid>"
  std::string operator_namespace;
  int partitions = 16;  // sync subject partitions; processor and synchronizer must agree
  // Client-side rate limit towards each cluster. A synchronizer makes about two requests
  // per object (read, then create or update), so this bounds its write rate.
  double kube_qps = 2000;
  int kube_burst = 4000;

  // Credentials and TLS of NATS and Redis. Secrets come from files (or the environment),
  // never from argv, which any local user can read in /proc.
  std::string nats_user;            // with the password of --nats-password-file
  std::string nats_password_file;   // else $KUBESYNC_NATS_PASSWORD
  std::string nats_token_file;      // else $KUBESYNC_NATS_TOKEN
  std::string nats_creds_file;      // a .creds file (user JWT and nkey seed)
  std::string nats_ca_file;         // TLS: the CA of the server's certificate (turns TLS on)
  std::string nats_inbox_prefix;    // reply subjects ("" = _INBOX)
  std::string redis_user;           // ACL user; else the URL's
  std::string redis_password_file;  // else $KUBESYNC_REDIS_PASSWORD, else the URL's
  std::string redis_ca_file;        // TLS (rediss:// URLs): the CA of the server's certificate
};

// The secrets the options point at, read when connecting.
struct Credentials {
  std::string nats_password;
  std::string nats_token;
  std::string redis_password;
};

// Reads --nats-password-file, --nats-token-file and --redis-password-file (one line; the
// trailing newline is dropped), or the KUBESYNC_NATS_PASSWORD, KUBESYNC_NATS_TOKEN and
// KUBESYNC_REDIS_PASSWORD variables when a file is not given. InvalidArgument naming the
// flag and the file when one cannot be read or is empty; never the secret itself.
Result<Credentials> LoadCredentials(const CommonOptions& options);

// One secret: the contents of `path` (trailing newline dropped), or $`env` when `path` is
// empty ("" when neither). Errors name `flag` and the file, never the contents.
Result<std::string> ReadSecret(const std::string& flag, const std::string& path, const char* env);

// Registers --plan, --source-kubeconfig, --destination-kubeconfig, --nats-url, --redis-url,
// --log-level, --consumer-id, --operator-namespace, --partitions, --kube-qps, --kube-burst,
// --nats-user, --nats-password-file, --nats-token-file, --nats-creds-file, --nats-ca-file,
// --nats-inbox-prefix, --redis-user, --redis-password-file and --redis-ca-file on `app`.
void AddCommonFlags(CLI::App& app, CommonOptions& options);

}  // namespace kubesync::service
