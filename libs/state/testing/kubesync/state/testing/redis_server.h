// A real redis-server for integration tests: 127.0.0.1, a free port, no persistence, its
// own directory; stopped by pid. StartAgain reuses the port (data is gone: --save '').
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "kubesync/core/status.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::state::testing {

class RedisServer {
 public:
  // Starts redis-server and waits until it accepts connections (up to 10 s).
  static Result<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();

  void Stop();
  Status StartAgain();

  int port() const { return port_; }
  // The server's pid (-1 when stopped), e.g. for CPU and memory figures.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }

 private:
  RedisServer() = default;
  testsupport::TempDir dir_;
  int port_ = 0;
  int starts_ = 0;
  std::optional<testsupport::Process> process_;
};

}  // namespace kubesync::state::testing
