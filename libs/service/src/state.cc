#include "kubesync/service/state.h"

#include "kubesync/service/retry.h"

namespace kubesync::service {

Result<std::unique_ptr<state::RedisClient>> ConnectState(const ServiceContext& ctx, ShutdownSignal& shutdown,
                                                         int pool_size) {
  state::RedisOptions options;
  options.url = ctx.options.redis_url;
  if (pool_size > 0) options.pool_size = pool_size;
  return RetryUntilShutdown(shutdown, ctx.logger, "error connecting to redis",
                            [&] { return state::RedisClient::Connect(options); });
}

}  // namespace kubesync::service
