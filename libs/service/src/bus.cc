#include "kubesync/service/bus.h"

#include "kubesync/service/retry.h"

namespace kubesync::service {

Result<std::unique_ptr<bus::Connection>> ConnectBus(const ServiceContext& ctx, ShutdownSignal& shutdown) {
  const log::Logger& logger = ctx.logger;
  bus::ConnectionOptions options;
  options.url = ctx.options.nats_url;
  options.name = logger.options().consumer_id;
  options.retry_on_failed_connect = true;
  options.on_event = [logger](bus::ConnectionEvent event) {
    logger.Warn("nats connection event", {{"event", bus::ConnectionEventName(event)}});
  };
  KS_ASSIGN_OR_RETURN(std::unique_ptr<bus::Connection> connection, bus::Connection::Connect(options));
  bus::StreamOptions stream;
  stream.id = ctx.id;
  auto ensured = RetryUntilShutdown(shutdown, logger, "error creating nats stream",
                                    [&] { return connection->EnsureStream(stream); });
  if (!ensured.ok()) return ensured.status();
  return connection;
}

}  // namespace kubesync::service
