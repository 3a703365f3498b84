// Test fixture: one kube-emulator process (tests/emulator) on a free loopback port, with
// optional TLS, token users and client-certificate users, and calls to its /emulator/ test
// hooks. Stopped by pid in the destructor.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kubesync/core/status.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::testsupport {

struct EmulatorUser {
  std::string name;
  std::string role = "admin";  // "admin" or "reader"
};

struct EmulatorOptions {
  bool tls = true;
  // Token users (written to the --token-file); empty and no client certs: anonymous admin
  // over plain HTTP when tls is false.
  std::vector<EmulatorUser> token_users = {{"admin", "admin"}};
  // Client-certificate users: the fixture issues a cert (CN = name) signed by its CA and
  // passes --client-ca-file; kubeconfig_path(name) uses that cert.
  std::vector<EmulatorUser> cert_users;
  // Keep objects across Restart() (a temp dir owned by the fixture when empty).
  std::filesystem::path data_dir;
  int watch_history = 10'000;
  int bookmark_interval_seconds = 1;
  std::vector<std::string> extra_args;
};

struct EmulatorFault {
  std::string verb = "*";      // get, list, watch, create, update, patch, delete, deletecollection, *
  std::string resource = "*";  // plural ("configmaps", "deployments/scale") or *
  int count = 1;
  int code = 500;              // 429, 500, 503; 0 = latency only
  int retry_after_seconds = 1;
  int latency_ms = 0;
};

struct EmulatorCounter {
  std::string verb;
  std::string resource;
  std::string user;
  long count = 0;
};

class Emulator {
 public:
  static Result<std::unique_ptr<Emulator>> Start(EmulatorOptions options = {});
  ~Emulator();

  // "https://127.0.0.1:PORT" (or http:// without TLS).
  std::string url() const;
  int port() const;
  // PEM of the CA that signed the server certificate (empty without TLS).
  const std::string& ca_pem() const;
  std::filesystem::path ca_path() const;
  // A ready kubeconfig for a token user, a cert user, or "admin" without auth.
  std::filesystem::path kubeconfig_path(const std::string& user = "admin") const;
  // The bearer token of a token user.
  std::string token(const std::string& user = "admin") const;
  const std::filesystem::path& work_dir() const;

  // Test hooks.
  Status DropWatches();
  Status Compact();
  Status AddFault(const EmulatorFault& fault);
  Status ClearFaults();
  Result<std::vector<EmulatorCounter>> Counters();
  Status ResetCounters();
  // Sum of counters matching verb/resource ("*" = any), for any user.
  Result<long> CountRequests(const std::string& verb, const std::string& resource);

  // A raw request as the admin user (for seeding and checking state in tests):
  // returns {status code, parsed JSON body or null}.
  struct Reply {
    int status = 0;
    nlohmann::json body;
  };
  Result<Reply> Request(const std::string& method, const std::string& path,
                        const std::optional<nlohmann::json>& body = std::nullopt,
                        const std::string& content_type = "application/json");

  // Stops the process (SIGTERM) and starts it again on the same port and data dir.
  Status Restart();
  // SIGKILL (no clean shutdown), then start again on the same port and data dir.
  Status KillAndRestart();
  void Stop();
  pid_t pid() const;

 private:
  Emulator() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend struct EmulatorAccess;
};

}  // namespace kubesync::testsupport
