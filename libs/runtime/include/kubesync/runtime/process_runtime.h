// The process runtime: component sets and jobs as child processes of this one (fork/exec of
// the binaries in bin_dir), plus a nats-server (JetStream) and a redis-server it starts on
// 127.0.0.1 itself when no URLs are given. The embedded default of the demo and the tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/runtime/runtime.h"

namespace kubesync::runtime {

struct ProcessRuntimeOptions {
  std::string bin_dir;    // directory holding the component binaries
  std::string work_dir;   // plans, kubeconfigs, logs, embedded server data
  std::string nats_url;   // "" = start an embedded nats-server (JetStream on, store under
                          //      work_dir/nats)
  std::string redis_url;  // "" = embedded redis-server (appendonly, data under work_dir/redis)
  // Credentials of configured servers (a URL's userinfo is moved here and out of the URL).
  // Embedded servers get generated ones instead: an admin for the controller, and one user
  // per component set that can reach only that set's subjects, stream and keys.
  ServerCredentials nats_credentials;
  ServerCredentials redis_credentials;
  std::string nats_server = "nats-server", redis_server = "redis-server";  // looked up on PATH
  std::string operator_namespace;
  std::chrono::milliseconds grace{5000};
  std::chrono::milliseconds restart_initial{500}, restart_max{30000};
  int max_restarts = 0;         // 0 = forever; else kGaveUp after that many in a row
  bool inherit_output = false;  // false: each process's stdout+stderr to
                                // <work>/<id>/<component>-<i>.log (appended)
  // A process that stayed up this long has its restart backoff reset.
  std::chrono::milliseconds stable_after{10000};
  // How long to wait for an embedded server to answer.
  std::chrono::milliseconds server_start_timeout{15000};
  // The time restarts are scheduled and uptimes measured by; null = the system clock. It
  // must outlive the runtime. (Waiting for an embedded server to answer uses real time.)
  const Clock* clock = nullptr;
};

// Creates work_dir, starts the monitor thread and the embedded servers, waiting until they
// answer (NATS its INFO greeting, Redis a PONG to an authenticated PING). Embedded servers
// refuse unauthenticated clients: nats-server reads its users from <work>/nats-server.conf
// and redis-server its ACL users from <work>/redis-users.acl (both 0600, random 256-bit
// passwords). Components get their credentials through 0600 files in <work>/<set id>/
// whose paths are passed (--nats-password-file, --redis-password-file, ...). The sink may be empty. The
// destructor stops every set and job (SIGTERM, SIGKILL after grace), then the embedded servers. Children are
// reaped by waitpid on their own pids: the program must not set SIGCHLD to SIG_IGN. Errors: InvalidArgument
// (empty work_dir or bin_dir), NotFound (a server binary not on PATH), Unavailable (a server did not come up
// in time; the message carries its log tail), Internal (files, fork).
Result<std::unique_ptr<Runtime>> StartProcessRuntime(const ProcessRuntimeOptions& options, EventSink sink);

}  // namespace kubesync::runtime
