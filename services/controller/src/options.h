// The controller's flags, parsed once into a plain struct.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::controller {

struct ControllerOptions {
  std::string kubeconfig;          // management cluster; "" = in-cluster service account
  std::string watch_namespace;     // "" = every namespace
  std::string operator_namespace;  // excluded from replication; also where Events of
                                   // cluster-wide things go
  std::string bin_dir;             // component binaries; "" = the controller's own directory
  std::string work_dir;            // process runtime files; runtime::DefaultWorkDir() when not given
  std::string nats_url;            // "" = embedded nats-server
  std::string redis_url;           // "" = embedded redis-server
  // Credentials and TLS of configured servers (flags shared with the components: secrets
  // only from files or the environment, never argv).
  std::string nats_user, nats_password_file, nats_token_file, nats_creds_file, nats_ca_file;
  std::string redis_user, redis_password_file, redis_ca_file;
  std::string log_level = "info";
  std::string component_log_level;  // "" = each LiveSynchronization's own settings, else info
  bool inherit_output = false;      // components log to the controller's stdout
  // Status refresh and KubernetesCluster probe period.
  std::chrono::milliseconds resync_interval{10'000};
  std::chrono::milliseconds probe_interval{30'000};
  int max_restarts = 0;  // per component replica in a row; 0 = forever
  // Audit admission webhook (AdmissionReview v1 over TLS); off when no certificate.
  std::string webhook_bind = "127.0.0.1";  // in a pod behind a Service: --webhook-bind 0.0.0.0
  int webhook_port = 9443;
  std::string webhook_cert_file;
  std::string webhook_key_file;
  std::string webhook_port_file;  // written with the bound port (tests, demo)
  // Reconcile workers (a key is never held by two at once).
  int workers = 4;
  // Namespaces (in any watched cluster) whose Tasks run as kubesync though kubesync did not
  // derive them: the cluster admin's choice. Elsewhere only derived Tasks run.
  std::vector<std::string> allowed_task_namespaces;
  // Leader election (coordination.k8s.io/v1 Lease "kubesync-controller").
  bool leader_elect = true;
  std::string leader_election_namespace;  // "" = operator_namespace, else "default"
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
};

// Parses argv; on --help or a bad flag prints and returns the exit code in `exit_code`.
Result<ControllerOptions> ParseOptions(int argc, char** argv, int* exit_code);

}  // namespace kubesync::controller
