// The Redis side of a component's start-up: connect, waiting with backoff while Redis is
// not there (the client reconnects on its own afterwards).
#pragma once

#include <memory>

#include "kubesync/core/status.h"
#include "kubesync/service/context.h"
#include "kubesync/service/shutdown.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::service {

// The Redis URL, user, password (read from --redis-password-file or the environment) and
// CA file of the common flags. InvalidArgument naming the flag when a file cannot be read.
Result<state::RedisOptions> StateOptions(const CommonOptions& common);

// Connects to ctx.options.redis_url with `pool_size` connections (0: the client's default),
// logging "error connecting to redis" for each failed attempt. kCancelled when shutdown
// came first.
Result<std::unique_ptr<state::RedisClient>> ConnectState(const ServiceContext& ctx, ShutdownSignal& shutdown,
                                                         int pool_size = 0);

}  // namespace kubesync::service
