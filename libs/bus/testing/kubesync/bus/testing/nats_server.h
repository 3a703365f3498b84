// A real nats-server with JetStream for integration tests: started on 127.0.0.1 and a free
// port with its own store directory, stopped by pid. Restart keeps port and store, so a
// client reconnects to the same data. Its max_payload is the one kubesync's embedded server
// runs with (8 MiB, the stream's max message size) unless the options say otherwise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "kubesync/core/status.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::bus::testing {

struct NatsServerOptions {
  int64_t max_payload = 8 << 20;  // bytes; nats-server's own default is 1 MiB
};

class NatsServer {
 public:
  // Starts `nats-server -c CONF -js -a 127.0.0.1 -p PORT -sd DIR` (CONF sets max_payload)
  // and waits until it accepts connections (up to 10 s).
  static Result<std::unique_ptr<NatsServer>> Start(NatsServerOptions options = {});
  ~NatsServer();

  // SIGTERM (a clean JetStream shutdown) and reap.
  void Stop();
  // SIGKILL: what a crash looks like.
  void Kill();
  // Starts again on the same port and store directory.
  Status StartAgain();
  // Deletes the store directory: the next StartAgain() is a server that lost its state
  // (what a nats-server without persistent storage looks like after a restart).
  void WipeStore();
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
  NatsServerOptions options_;
  int port_ = 0;
  int starts_ = 0;
  std::optional<testsupport::Process> process_;
};

}  // namespace kubesync::bus::testing
