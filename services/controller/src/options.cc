#include "options.h"

#include <CLI/CLI.hpp>

#include "kubesync/runtime/work_dir.h"

namespace kubesync::controller {

Result<ControllerOptions> ParseOptions(int argc, char** argv, int* exit_code) {
  ControllerOptions o;
  CLI::App app{"kubesync controller: runs one component set per LiveSynchronization"};
  app.add_option("--kubeconfig", o.kubeconfig, "management cluster kubeconfig (default: in-cluster)");
  app.add_option("--namespace", o.watch_namespace, "watch only this namespace (default: all)");
  app.add_option("--operator-namespace", o.operator_namespace, "the operator's namespace, never replicated");
  app.add_option("--bin-dir", o.bin_dir, "directory of the component binaries (default: the controller's)");
  app.add_option(
      "--work-dir", o.work_dir,
      "process runtime directory (plans, kubeconfigs, logs, embedded NATS/Redis data); created 0700, "
      "refused when it is a symlink, another user's, or open to group/other "
      "(default: $TMPDIR/kubesync-controller-<uid>)");
  app.add_option("--nats-url", o.nats_url, "NATS with JetStream (default: start an embedded nats-server)");
  app.add_option("--redis-url", o.redis_url, "Redis (default: start an embedded redis-server)");
  app.add_option("--nats-user", o.nats_user,
                 "NATS user (password from --nats-password-file or $KUBESYNC_NATS_PASSWORD)");
  app.add_option("--nats-password-file", o.nats_password_file, "file holding the NATS password");
  app.add_option("--nats-token-file", o.nats_token_file,
                 "file holding a NATS token (else $KUBESYNC_NATS_TOKEN)");
  app.add_option("--nats-creds-file", o.nats_creds_file, "NATS .creds file (user JWT and nkey seed)");
  app.add_option("--nats-ca-file", o.nats_ca_file, "CA certificate (PEM) of the NATS server; turns TLS on");
  app.add_option("--redis-user", o.redis_user, "Redis ACL user (default: the URL's)");
  app.add_option("--redis-password-file", o.redis_password_file,
                 "file holding the Redis password (else $KUBESYNC_REDIS_PASSWORD, else the URL's)");
  app.add_option("--redis-ca-file", o.redis_ca_file,
                 "CA certificate (PEM) of the Redis server (rediss:// URLs)");
  app.add_option("--log-level", o.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--component-log-level", o.component_log_level,
                 "log level of the components (default: spec.config.components.<name>.logLevel, else info)");
  app.add_flag("--inherit-output", o.inherit_output, "components write to the controller's stdout");
  int64_t resync_ms = o.resync_interval.count();
  int64_t probe_ms = o.probe_interval.count();
  app.add_option("--resync-interval-ms", resync_ms, "status refresh period")
      ->check(CLI::Range(100, 3'600'000));
  app.add_option("--probe-interval-ms", probe_ms, "KubernetesCluster reachability probe period")
      ->check(CLI::Range(100, 3'600'000));
  app.add_option("--max-restarts", o.max_restarts,
                 "restarts in a row before a component is given up (0 = never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--webhook-bind", o.webhook_bind, "audit webhook address");
  app.add_option("--webhook-port", o.webhook_port, "audit webhook port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--webhook-cert-file", o.webhook_cert_file,
                 "audit webhook TLS certificate (webhook off without)");
  app.add_option("--webhook-key-file", o.webhook_key_file, "audit webhook TLS private key");
  app.add_option("--webhook-port-file", o.webhook_port_file, "write the webhook's bound port here");
  app.add_option("--workers", o.workers, "reconcile workers")->check(CLI::Range(1, 64));
  app.add_option(
         "--allowed-task-namespaces", o.allowed_task_namespaces,
         "namespaces whose Tasks may run with kubesync's credentials although kubesync did not derive them "
         "(comma-separated)")
      ->delimiter(',');
  app.add_option("--leader-elect", o.leader_elect, "run only while holding the Lease (default true)");
  app.add_option("--leader-election-namespace", o.leader_election_namespace,
                 "namespace of the Lease (default: --operator-namespace, else default)");
  int64_t lease_ms = o.lease_duration.count(), renew_ms = o.renew_deadline.count(),
          retry_ms = o.retry_period.count();
  app.add_option("--leader-election-lease-duration-ms", lease_ms, "how long a Lease not renewed holds")
      ->check(CLI::Range(500, 600'000));
  app.add_option("--leader-election-renew-deadline-ms", renew_ms,
                 "the leader stops when it cannot renew this long")
      ->check(CLI::Range(200, 600'000));
  app.add_option("--leader-election-retry-period-ms", retry_ms, "between attempts to acquire or renew")
      ->check(CLI::Range(100, 600'000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    return InvalidArgumentError(e.what());
  }
  if (o.work_dir.empty()) o.work_dir = runtime::DefaultWorkDir();
  o.resync_interval = std::chrono::milliseconds(resync_ms);
  o.probe_interval = std::chrono::milliseconds(probe_ms);
  o.lease_duration = std::chrono::milliseconds(lease_ms);
  o.renew_deadline = std::chrono::milliseconds(renew_ms);
  o.retry_period = std::chrono::milliseconds(retry_ms);
  if (!(o.retry_period < o.renew_deadline && o.renew_deadline < o.lease_duration)) {
    *exit_code = 2;
    return InvalidArgumentError(
        "--leader-election-retry-period-ms < --leader-election-renew-deadline-ms < "
        "--leader-election-lease-duration-ms must hold");
  }
  if (o.webhook_cert_file.empty() != o.webhook_key_file.empty()) {
    *exit_code = 2;
    return InvalidArgumentError("--webhook-cert-file and --webhook-key-file go together");
  }
  return o;
}

}  // namespace kubesync::controller
