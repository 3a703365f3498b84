#include "credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "kubesync/core/base64.h"

extern char** environ;

namespace kubesync::kube::internal {
namespace {

using nlohmann::json;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) {
    ++i;
  }
  return s.substr(i);
}

}  // namespace

std::string BuildExecInfo(const ExecConfig& exec, const ClusterInfo& cluster) {
  json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    json c = {{"server", cluster.server}};
    if (!cluster.tls_server_name.empty()) {
      c["tls-server-name"] = cluster.tls_server_name;
    }
    if (cluster.insecure_skip_tls_verify) {
      c["insecure-skip-tls-verify"] = true;
    }
    if (!cluster.certificate_authority_data.empty()) {
      c["certificate-authority-data"] = Base64Encode(cluster.certificate_authority_data);
    }
    if (!cluster.proxy_url.empty()) {
      c["proxy-url"] = cluster.proxy_url;
    }
    spec["cluster"] = std::move(c);
  }
  return json{{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", std::move(spec)}}.dump();
}

Result<Credential> ParseExecCredential(const ExecConfig& exec, const std::string& stdout_text) {
  const std::string where = "exec plugin " + exec.command + ": ";
  json doc = json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return UnauthenticatedError(where + "output is not an ExecCredential JSON object");
  }
  if (doc.value("kind", "") != "ExecCredential") {
    return UnauthenticatedError(where + "output kind is not ExecCredential");
  }
  if (doc.value("apiVersion", "") != exec.api_version) {
    return UnauthenticatedError(where + "output apiVersion \"" + doc.value("apiVersion", "") +
                                "\" does not match the configured \"" + exec.api_version + "\"");
  }
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_object()) {
    return UnauthenticatedError(where + "output has no status");
  }
  Credential cred;
  auto str = [&](const char* key) -> std::string {
    auto it = status->find(key);
    return it != status->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  cred.token = str("token");
  cred.client_cert_pem = str("clientCertificateData");
  cred.client_key_pem = str("clientKeyData");
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return UnauthenticatedError(where +
                                "status.clientCertificateData and status.clientKeyData must come together");
  }
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return UnauthenticatedError(where + "status has neither token nor clientCertificateData");
  }
  if (std::string exp = str("expirationTimestamp"); !exp.empty()) {
    Result<WallTime> t = ParseRfc3339(exp);
    if (!t.ok()) {
      return UnauthenticatedError(where + "status.expirationTimestamp: " + t.status().message());
    }
    cred.expiry = *t;
  }
  return cred;
}

Result<ExecResult> RunExecPlugin(const ExecConfig& exec, const std::string& exec_info,
                                 std::chrono::milliseconds timeout) {
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = name == "KUBERNETES_EXEC_INFO";
    for (const auto& v : exec.env) {
      overridden = overridden || name == v.name;
    }
    if (!overridden) {
      env_strings.emplace_back(entry);
    }
  }
  for (const auto& v : exec.env) {
    env_strings.push_back(v.name + "=" + v.value);
  }
  env_strings.push_back("KUBERNETES_EXEC_INFO=" + exec_info);
  std::vector<char*> envp;
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {exec.command};
  argv_strings.insert(argv_strings.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return InternalError("exec plugin: pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, exec.command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return UnauthenticatedError("exec plugin " + exec.command + ": cannot start: " + std::strerror(rc));
  }
  ExecResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buf[4096];
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    ssize_t got = read(fds[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    result.stdout_text.append(buf, static_cast<size_t>(got));
  }
  close(fds[0]);
  if (timed_out) {
    kill(pid, SIGKILL);
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return DeadlineExceededError("exec plugin " + exec.command + ": timed out after " +
                                 std::to_string(timeout.count()) + "ms");
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

CredentialSource::CredentialSource(const RestConfig& config, const Clock* clock,
                                   std::chrono::milliseconds exec_timeout,
                                   std::chrono::milliseconds token_file_refresh)
    : config_(config), clock_(clock), exec_timeout_(exec_timeout), token_file_refresh_(token_file_refresh) {}

Result<Credential> CredentialSource::RunExecLocked() {
  const ExecConfig& exec = *config_.auth.exec;
  KS_ASSIGN_OR_RETURN(ExecResult run,
                      RunExecPlugin(exec, BuildExecInfo(exec, config_.cluster), exec_timeout_));
  if (run.exit_code != 0) {
    return UnauthenticatedError("exec plugin " + exec.command + ": exited with code " +
                                std::to_string(run.exit_code));
  }
  return ParseExecCredential(exec, run.stdout_text);
}

Result<Credential> CredentialSource::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  Credential cred;
  cred.client_cert_pem = config_.tls.client_cert_pem;
  cred.client_key_pem = config_.tls.client_key_pem;
  if (!config_.auth.token.empty()) {
    cred.token = config_.auth.token;
  } else if (!config_.auth.token_file.empty()) {
    MonoTime now = clock_->SteadyNow();
    if (!file_token_read_at_ || now - *file_token_read_at_ >= token_file_refresh_) {
      std::ifstream in(config_.auth.token_file, std::ios::binary);
      if (!in) {
        if (file_token_.empty()) {
          return UnauthenticatedError("cannot read tokenFile " + config_.auth.token_file);
        }
        // Keep the last good token; the file may be mid-rotation.
      } else {
        std::ostringstream ss;
        ss << in.rdbuf();
        file_token_ = Trim(ss.str());
      }
      file_token_read_at_ = now;
    }
    cred.token = file_token_;
  } else if (config_.auth.exec) {
    if (!cached_exec_ || (cached_exec_->expiry && clock_->Now() >= *cached_exec_->expiry)) {
      KS_ASSIGN_OR_RETURN(cached_exec_, RunExecLocked());
    }
    cred = *cached_exec_;
    if (cred.client_cert_pem.empty()) {
      cred.client_cert_pem = config_.tls.client_cert_pem;
      cred.client_key_pem = config_.tls.client_key_pem;
    }
  }
  return cred;
}

bool CredentialSource::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!config_.auth.token.empty()) {
    return false;
  }
  if (!config_.auth.token_file.empty()) {
    file_token_read_at_.reset();
    return true;
  }
  if (config_.auth.exec) {
    cached_exec_.reset();
    return true;
  }
  return false;
}

}  // namespace kubesync::kube::internal
