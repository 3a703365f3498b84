#include "kubesync/service/bus.h"

#include "kubesync/service/retry.h"

namespace kubesync::service {

Result<std::unique_ptr<bus::Connection>> ConnectBus(const ServiceContext& ctx, ShutdownSignal& shutdown) {
  const log::Logger& logger = ctx.logger;
  KS_ASSIGN_OR_RETURN(Credentials credentials, LoadCredentials(ctx.options));
  bus::ConnectionOptions options;
  options.url = ctx.options.nats_url;
  options.name = logger.options().consumer_id;
  options.user = ctx.options.nats_user;
  options.password = credentials.nats_password;
  options.token = credentials.nats_token;
  options.creds_file = ctx.options.nats_creds_file;
  options.ca_file = ctx.options.nats_ca_file;
  options.inbox_prefix = ctx.options.nats_inbox_prefix;
  options.on_event = [logger](bus::ConnectionEvent event) {
    logger.Warn("nats connection event", {{"event", bus::ConnectionEventName(event)}});
  };
  // The first connect is retried here rather than by cnats in the background, so a refused
  // password or certificate ends the start-up with an error naming the server (cnats
  // reconnects on its own once connected).
  KS_ASSIGN_OR_RETURN(std::unique_ptr<bus::Connection> connection,
                      RetryUntilShutdown(shutdown, logger, "error connecting to nats",
                                         [&] { return bus::Connection::Connect(options); }));
  bus::StreamOptions stream;
  stream.id = ctx.id;
  auto ensured = RetryUntilShutdown(shutdown, logger, "error creating nats stream",
                                    [&] { return connection->EnsureStream(stream); });
  if (!ensured.ok()) return ensured.status();
  return connection;
}

}  // namespace kubesync::service
