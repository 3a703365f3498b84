// A real nats-server with JetStream for integration tests: started on 127.0.0.1 and a free
// port with its own store directory, stopped by pid. Restart keeps port and store, so a
// client reconnects to the same data.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "kubesync/core/status.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::bus::testing {

class NatsServer {
 public:
  // Starts `nats-server -js -a 127.0.0.1 -p PORT -sd DIR` and waits until it accepts
  // connections (up to 10 s).
  static Result<std::unique_ptr<NatsServer>> Start();
  ~NatsServer();

  // SIGTERM (a clean JetStream shutdown) and reap.
  void Stop();
  // SIGKILL: what a crash looks like.
  void Kill();
  // Starts again on the same port and store directory.
  Status StartAgain();
  bool running() const { return process_.has_value(); }
  // The server's pid (-1 when stopped), e.g. for CPU and memory figures.
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& store_dir() const { return store_dir_; }

 private:
  NatsServer() = default;
  testsupport::TempDir dir_;
  std::filesystem::path store_dir_;
  int port_ = 0;
  int starts_ = 0;
  std::optional<testsupport::Process> process_;
};

}  // namespace kubesync::bus::testing
