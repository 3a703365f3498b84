#include "kubesync/service/state.h"

#include "kubesync/service/retry.h"

namespace kubesync::service {

Result<state::RedisOptions> StateOptions(const CommonOptions& common) {
  KS_ASSIGN_OR_RETURN(Credentials credentials, LoadCredentials(common));
  state::RedisOptions options;
  options.url = common.redis_url;
  options.username = common.redis_user;
  options.password = credentials.redis_password;
  options.ca_file = common.redis_ca_file;
  return options;
}

Result<std::unique_ptr<state::RedisClient>> ConnectState(const ServiceContext& ctx, ShutdownSignal& shutdown,
                                                         int pool_size) {
  KS_ASSIGN_OR_RETURN(state::RedisOptions options, StateOptions(ctx.options));
  if (pool_size > 0) options.pool_size = pool_size;
  return RetryUntilShutdown(shutdown, ctx.logger, "error connecting to redis",
                            [&] { return state::RedisClient::Connect(options); });
}

}  // namespace kubesync::service
