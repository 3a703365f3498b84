#include "kubesync/state/testing/redis_server.h"

#include <chrono>

namespace kubesync::state::testing {

Result<std::unique_ptr<RedisServer>> RedisServer::Start() {
  std::unique_ptr<RedisServer> server(new RedisServer());
  server->port_ = testsupport::FreePort();
  KS_RETURN_IF_ERROR(server->StartAgain());
  return server;
}

RedisServer::~RedisServer() { Stop(); }

Status RedisServer::StartAgain() {
  if (process_) {
    return FailedPreconditionError("redis-server already running");
  }
  testsupport::ProcessOptions opts;
  opts.argv = {
      "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
      "no",           "--dir",  dir_.path().string()};
  const std::string log = "redis-" + std::to_string(++starts_) + ".log";
  KS_ASSIGN_OR_RETURN(testsupport::Process p, testsupport::StartServer(std::move(opts), port_, dir_.path() / log));
  process_.emplace(std::move(p));
  return OkStatus();
}

void RedisServer::Stop() {
  if (process_) {
    process_->Stop(std::chrono::milliseconds(5000));
    process_.reset();
  }
}

}  // namespace kubesync::state::testing
