// StreamKeeper and RecoveringConsumer: recreate a stream or consumer that disappeared.
#include "kubesync/bus/recovery.h"

#include <utility>

#include "kubesync/bus/subjects.h"

namespace kubesync::bus {

Status EnsureStreamAfterGrace(Connection* connection, const StreamOptions& stream,
                              std::chrono::milliseconds grace,
                              std::optional<std::chrono::steady_clock::time_point>* missing_since,
                              bool* created) {
  if (created != nullptr) *created = false;
  KS_ASSIGN_OR_RETURN(const std::string name, StreamName(stream.id));
  Result<StreamStats> stats = connection->GetStreamStats(name);
  if (stats.ok()) {
    missing_since->reset();
    // Exists: bring its limits up to date (a no-op when they match).
    return connection->EnsureStream(stream).status();
  }
  if (stats.status().code() != Code::kNotFound) return stats.status();
  const auto now = std::chrono::steady_clock::now();
  if (!missing_since->has_value()) *missing_since = now;
  if (now - **missing_since < grace) {
    return UnavailableError("stream " + name + " is missing; it is created again once its files are gone");
  }
  KS_RETURN_IF_ERROR(connection->EnsureStream(stream).status());
  missing_since->reset();
  if (created != nullptr) *created = true;
  return OkStatus();
}

StreamKeeper::StreamKeeper(Connection* connection, StreamOptions stream,
                           std::chrono::milliseconds recreate_grace)
    : connection_(connection), stream_(std::move(stream)), recreate_grace_(recreate_grace) {}

Result<bool> StreamKeeper::Check() {
  KS_ASSIGN_OR_RETURN(const std::string name, StreamName(stream_.id));
  Result<StreamStats> stats = connection_->GetStreamStats(name);
  bool created_here = false;
  if (!stats.ok()) {
    if (stats.status().code() != Code::kNotFound) return stats.status();
    KS_RETURN_IF_ERROR(
        EnsureStreamAfterGrace(connection_, stream_, recreate_grace_, &missing_since_, &created_here));
    stats = connection_->GetStreamStats(name);
    if (!stats.ok()) return stats.status();
  }
  missing_since_.reset();
  const bool replaced = seen_created_ != 0 && stats->created_unix_nanos != seen_created_;
  seen_created_ = stats->created_unix_nanos;
  return replaced || created_here;
}

RecoveringConsumer::RecoveringConsumer(Connection* connection, StreamOptions stream, ConsumerOptions consumer,
                                       std::chrono::milliseconds verify_every,
                                       std::chrono::milliseconds recreate_grace)
    : connection_(connection),
      stream_(std::move(stream)),
      consumer_(std::move(consumer)),
      verify_every_(verify_every),
      recreate_grace_(recreate_grace) {}

RecoveringConsumer::~RecoveringConsumer() = default;

Status RecoveringConsumer::Bind() {
  // The stream first: a consumer cannot be created in a stream that is gone.
  KS_RETURN_IF_ERROR(EnsureStreamAfterGrace(connection_, stream_, recreate_grace_, &missing_since_));
  KS_ASSIGN_OR_RETURN(bound_, connection_->Subscribe(consumer_));
  if (lost_) {
    ++recreated_;
    lost_ = false;
  }
  last_verified_ = std::chrono::steady_clock::now();
  return OkStatus();
}

Status RecoveringConsumer::Verify() {
  last_verified_ = std::chrono::steady_clock::now();
  Result<ConsumerStats> stats = connection_->GetConsumerStats(consumer_.stream, consumer_.durable);
  // Only a definite "not found" counts: while NATS is away nothing can be told.
  if (stats.ok() || stats.status().code() != Code::kNotFound) return OkStatus();
  bound_.reset();
  lost_ = true;
  return stats.status();
}

Result<std::vector<Message>> RecoveringConsumer::Fetch(int batch, std::chrono::milliseconds timeout) {
  if (!bound_) KS_RETURN_IF_ERROR(Bind());
  Result<std::vector<Message>> fetched = bound_->Fetch(batch, timeout);
  if (!fetched.ok()) {
    // Whatever the fetch said (cnats reports a deleted consumer in several ways), ask the
    // server whether the consumer is still there.
    if (Verify().ok()) return fetched.status();
    KS_RETURN_IF_ERROR(Bind());  // gone: create it again (after the grace); the next call fetches
    return std::vector<Message>();
  }
  if (fetched->empty() && std::chrono::steady_clock::now() - last_verified_ >= verify_every_) {
    if (!Verify().ok()) KS_RETURN_IF_ERROR(Bind());
  }
  return fetched;
}

}  // namespace kubesync::bus
