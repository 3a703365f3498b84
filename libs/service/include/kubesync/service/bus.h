// The NATS side of a component's start-up: connect (cnats keeps reconnecting on its own
// afterwards) and make sure the LiveSynchronization's stream exists.
#pragma once

#include <memory>

#include "kubesync/bus/jetstream.h"
#include "kubesync/core/status.h"
#include "kubesync/service/context.h"
#include "kubesync/service/shutdown.h"

namespace kubesync::service {

// Connects to ctx.options.nats_url (connection events are logged as warnings) and ensures
// the stream of ctx.id, waiting with backoff while NATS is not there. kCancelled when
// shutdown came first; any other error is terminal.
Result<std::unique_ptr<bus::Connection>> ConnectBus(const ServiceContext& ctx, ShutdownSignal& shutdown);

}  // namespace kubesync::service
