// One partition of the sync subject: binds the durable consumer "synchronizer-<p>"
// (MaxAckPending = batch), fetches up to `batch` messages at a time and applies them one
// after the other in stream order, then acks (asynchronously: a lost ack only brings the
// message again, and the Applier is idempotent), naks (with a growing delay) or
// terminates each, each only after its destination write.
//
// Order per object: one replica applies a partition's batch in stream order, and Redis
// refuses an older resourceVersion than the one committed. When replicas share a
// partition and hold consecutive batches at once, the Applier still never writes an older
// version over a newer one: it compares the event with the source resourceVersion the
// destination copy is marked with (and updates carry the destination's resourceVersion,
// so a concurrent write is a 409 and a re-read).
//
// Thread-safety: Run blocks its own thread; nothing else is shared but the Applier
// (thread-safe) and the Connection (thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <semaphore>
#include <string>

#include "applier.h"
#include "kubesync/bus/jetstream.h"
#include "kubesync/core/log.h"

namespace kubesync::synchronizer {

struct PartitionWorkerOptions {
  std::string stream;          // bus::StreamName(id)
  std::string filter_subject;  // bus::SyncSubject(id, partition)
  int partition = 0;
  std::chrono::milliseconds ack_wait{15'000};
  std::chrono::milliseconds fetch_timeout{1000};  // how soon a stop request is noticed
  int batch = 32;  // messages per fetch, and the consumer's MaxAckPending
  // Shared by the replica's workers: at most this many messages applied at once
  // (spec.config.components.synchronizer.concurrentTasks). Null: one per partition.
  std::counting_semaphore<>* apply_slots = nullptr;
};

// "synchronizer-<p>"
std::string DurableName(int partition);

// Delay before a message given back to NATS comes again: 250 ms doubling per delivery,
// at most 5 s.
std::chrono::milliseconds NakDelay(uint64_t delivery_count);

class PartitionWorker {
 public:
  // `connection`, `applier` and `stop` must outlive Run.
  PartitionWorker(bus::Connection* connection, Applier* applier, log::Logger logger,
                  PartitionWorkerOptions options, const std::atomic<bool>* stop);

  // Until *stop: subscribes (retrying while NATS is away), then fetch/apply/settle. The
  // message in hand is always finished before returning.
  void Run();

 private:
  void Settle(bus::Message& message, const Outcome& outcome);

  bus::Connection* connection_;
  Applier* applier_;
  log::Logger logger_;
  PartitionWorkerOptions options_;
  const std::atomic<bool>* stop_;
};

}  // namespace kubesync::synchronizer
