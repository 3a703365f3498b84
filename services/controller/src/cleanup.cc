#include "cleanup.h"

#include <filesystem>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/state/pass_summary.h"
#include "kubesync/state/problems.h"

namespace kubesync::controller {

Status CleanUpLiveSync(const Context& ctx, const std::string& id) {
  if (ctx.object_state == nullptr)
    return UnavailableError("redis is not reachable: the state of " + id + " stays");
  KS_ASSIGN_OR_RETURN(int64_t records, ctx.object_state->DeleteAll(id));
  // The reconciler's pass summary and the problems record live beside the object records.
  if (ctx.redis != nullptr) {
    KS_ASSIGN_OR_RETURN(std::string summary_key, state::PassSummaryKey(id));
    KS_ASSIGN_OR_RETURN(std::string problems_key, state::ProblemStore::Key(id));
    KS_RETURN_IF_ERROR(
        ctx.redis->Command({"UNLINK", summary_key, problems_key}, state::RedisClient::Retry::kOnce).status());
  }

  KS_ASSIGN_OR_RETURN(std::string stream, bus::StreamName(id));
  // As the runtime's admin user: the embedded server admits no anonymous client.
  const runtime::ServerCredentials credentials = ctx.runtime.NatsCredentials();
  bus::ConnectionOptions options{.url = ctx.nats_url, .name = "kubesync-controller-cleanup"};
  options.user = credentials.user;
  options.password = credentials.password;
  options.token = credentials.token;
  options.creds_file = credentials.creds_file;
  options.ca_file = credentials.ca_file;
  KS_ASSIGN_OR_RETURN(auto nats, bus::Connection::Connect(options));
  Status deleted = nats->DeleteStream(stream);
  if (!deleted.ok() && deleted.code() != Code::kNotFound) return deleted;

  std::error_code ec;
  const auto dir = ctx.work_dir / id;
  std::filesystem::remove_all(dir, ec);
  if (ec) return InternalError("remove " + dir.string() + ": " + ec.message());
  ctx.logger.Info("LiveSynchronization cleaned up", {{"liveSynchronization", id},
                                                     {"redisRecords", records},
                                                     {"stream", stream},
                                                     {"streamDeleted", deleted.ok()},
                                                     {"directory", dir.string()}});
  return OkStatus();
}

}  // namespace kubesync::controller
