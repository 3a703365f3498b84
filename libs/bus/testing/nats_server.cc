#include "kubesync/bus/testing/nats_server.h"

#include <chrono>

namespace kubesync::bus::testing {

Result<std::unique_ptr<NatsServer>> NatsServer::Start(NatsServerOptions options) {
  std::unique_ptr<NatsServer> server(new NatsServer());
  server->options_ = options;
  server->store_dir_ = server->dir_.path() / "jetstream";
  server->port_ = testsupport::FreePort();
  KS_RETURN_IF_ERROR(server->StartAgain());
  return server;
}

NatsServer::~NatsServer() { Stop(); }

Status NatsServer::StartAgain() {
  if (process_) {
    return FailedPreconditionError("nats-server already running");
  }
  // max_payload has no command-line flag, only a config file setting.
  const std::filesystem::path conf = dir_.path() / "nats.conf";
  testsupport::WriteFile(conf, "max_payload: " + std::to_string(options_.max_payload) + "\n");
  testsupport::ProcessOptions opts;
  opts.argv = {"nats-server", "-c", conf.string(),         "-js", "-a",
               "127.0.0.1",   "-p", std::to_string(port_), "-sd", store_dir_.string()};
  const std::string log = "nats-" + std::to_string(++starts_) + ".log";
  // nats-server enables JetStream (and recovers its store) before it accepts clients.
  KS_ASSIGN_OR_RETURN(testsupport::Process p, testsupport::StartServer(std::move(opts), port_, dir_.path() / log));
  process_.emplace(std::move(p));
  return OkStatus();
}

void NatsServer::Stop() {
  if (process_) {
    process_->Stop(std::chrono::milliseconds(5000));
    process_.reset();
  }
}

void NatsServer::WipeStore() {
  std::error_code ec;
  std::filesystem::remove_all(store_dir_, ec);
}

void NatsServer::Kill() {
  if (process_) {
    process_->Kill();
    process_.reset();
  }
}

}  // namespace kubesync::bus::testing
