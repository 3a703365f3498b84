// StreamKeeper and RecoveringConsumer: recreate a stream or consumer that disappeared.
#include "kubesync/bus/recovery.h"

#include <utility>

#include "kubesync/bus/subjects.h"

namespace kubesync::bus {

StreamKeeper::StreamKeeper(Connection* connection, StreamOptions stream)
    : connection_(connection), stream_(std::move(stream)) {}

Result<bool> StreamKeeper::Check() {
  KS_ASSIGN_OR_RETURN(const std::string name, StreamName(stream_.id));
  Result<StreamStats> stats = connection_->GetStreamStats(name);
  bool created_here = false;
  if (!stats.ok()) {
    if (stats.status().code() != Code::kNotFound) return stats.status();
    KS_RETURN_IF_ERROR(connection_->EnsureStream(stream_).status());
    created_here = true;
    stats = connection_->GetStreamStats(name);
    if (!stats.ok()) return stats.status();
  }
  const bool replaced = seen_created_ != 0 && stats->created_unix_nanos != seen_created_;
  seen_created_ = stats->created_unix_nanos;
  return replaced || created_here;
}

RecoveringConsumer::RecoveringConsumer(Connection* connection, StreamOptions stream, ConsumerOptions consumer,
                                       std::chrono::milliseconds verify_every)
    : connection_(connection),
      stream_(std::move(stream)),
      consumer_(std::move(consumer)),
      verify_every_(verify_every) {}

RecoveringConsumer::~RecoveringConsumer() = default;

Status RecoveringConsumer::Bind() {
  // The stream first: a consumer cannot be created in a stream that is gone.
  KS_RETURN_IF_ERROR(connection_->EnsureStream(stream_).status());
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
    KS_RETURN_IF_ERROR(Bind());  // gone: create it again now; the next call fetches
    return std::vector<Message>();
  }
  if (fetched->empty() && std::chrono::steady_clock::now() - last_verified_ >= verify_every_) {
    if (!Verify().ok()) KS_RETURN_IF_ERROR(Bind());
  }
  return fetched;
}

}  // namespace kubesync::bus
