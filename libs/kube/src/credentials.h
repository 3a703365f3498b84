// Where the transport gets its credentials: static token, tokenFile (re-read), basic auth,
// client certificate, or an exec plugin (cached until expirationTimestamp, re-run on 401).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/config.h"

namespace kubesync::kube::internal {

struct Credential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<WallTime> expiry;
};

struct ExecResult {
  int exit_code = -1;
  std::string stdout_text;
};

// Runs `exec.command` with its args, the inherited environment plus exec.env plus
// KUBERNETES_EXEC_INFO=`exec_info`; stdin is /dev/null, stderr inherited. Kills the
// child after `timeout` (kDeadlineExceeded).
Result<ExecResult> RunExecPlugin(const ExecConfig& exec, const std::string& exec_info,
                                 std::chrono::milliseconds timeout);

// The ExecCredential JSON the plugin receives in KUBERNETES_EXEC_INFO.
std::string BuildExecInfo(const ExecConfig& exec, const ClusterInfo& cluster);

// Parses the plugin's stdout (an ExecCredential of the configured apiVersion).
Result<Credential> ParseExecCredential(const ExecConfig& exec, const std::string& stdout_text);

// Thread-safe.
class CredentialSource {
 public:
  CredentialSource(const RestConfig& config, const Clock* clock, std::chrono::milliseconds exec_timeout,
                   std::chrono::milliseconds token_file_refresh);

  // The credential to use now (token may be empty: then cert or basic or anonymous).
  Result<Credential> Get();
  // After a 401: forgets cached exec output / token file contents. True when a fresh
  // Get() may give something different (so the request is worth repeating once).
  bool Invalidate();

 private:
  Result<Credential> RunExecLocked();

  RestConfig config_;
  const Clock* clock_;
  std::chrono::milliseconds exec_timeout_;
  std::chrono::milliseconds token_file_refresh_;
  std::mutex mu_;
  std::optional<Credential> cached_exec_;
  std::string file_token_;
  std::optional<MonoTime> file_token_read_at_;
};

}  // namespace kubesync::kube::internal
