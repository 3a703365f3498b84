#include "kubesync/service/state.h"

#include "kubesync/service/retry.h"

namespace kubesync::service {

Result<std::unique_ptr<state::RedisClient>> ConnectState(const ServiceContext& ctx, ShutdownSignal& shutdown,
                                                         int pool_size) {
  KS_ASSIGN_OR_RETURN(Credentials credentials, LoadCredentials(ctx.options));
  state::RedisOptions options;
  options.url = ctx.options.redis_url;
  options.username = ctx.options.redis_user;
  options.password = credentials.redis_password;
  options.ca_file = ctx.options.redis_ca_file;
  if (pool_size > 0) options.pool_size = pool_size;
  return RetryUntilShutdown(shutdown, ctx.logger, "error connecting to redis",
                            [&] { return state::RedisClient::Connect(options); });
}

}  // namespace kubesync::service
