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
// Poison messages (issue 10, item 6): a message whose failure is terminal (the destination
// refuses the object, or an unmanaged object holds its name) is parked at once; one that
// keeps failing with retryable errors is parked once it has been delivered
// `max_deliveries` times, but only while the destination answers (probe_destination):
// when nothing gets through it is an outage, not a poison message, and it keeps waiting.
// Parking = a problem entry in Redis naming the object and the reason (the controller
// counts them in the status), an error log line naming the object, then Term, so the rest
// of the partition flows (Nak'ed messages hold MaxAckPending slots: `batch` of them would
// block it). A parked version also stops older versions of the object (Applier). Should
// the entry not be written, the message is Nak'ed and parked later. The consumer's
// MaxDeliver (server_max_deliver) is only a backstop far beyond that.
//
// Lost NATS state (item 7): the consumer is a bus::RecoveringConsumer, which creates the
// durable (and the stream) again when they are gone.
//
// Thread-safety: Run blocks its own thread; nothing else is shared but the Applier
// (thread-safe; it records parked messages, Applier::Park) and the Connection (thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
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
  std::string id;  // the LiveSynchronization; where problem entries go
  // Deliveries of a message failing with retryable errors before it is parked.
  int max_deliveries = 20;
  int64_t server_max_deliver = 1000;
  // OK when the destination answers at all (any reply but a retryable error). Empty: it
  // is taken to answer.
  std::function<Status()> probe_destination;
};

// "synchronizer-<p>"
std::string DurableName(int partition);

// Delay before a message given back to NATS comes again: 250 ms doubling per delivery,
// at most 5 s.
std::chrono::milliseconds NakDelay(uint64_t delivery_count);

// What to do with a message after the Applier's outcome (pure; tested on its own).
enum class Settlement {
  kAck,
  kNak,        // again after NakDelay
  kNakOutage,  // again after kOutageDelay: past the bound, but the destination is not answering
  kPark,       // record, log, Term
  kTerm,       // Term without a record (a payload that does not decode)
};
inline constexpr std::chrono::milliseconds kOutageDelay{30'000};
// `destination_answers` is called only when it matters (a retryable failure past the bound).
Settlement Decide(const Outcome& outcome, uint64_t delivery_count, int max_deliveries,
                  const std::function<bool()>& destination_answers);

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
  // Records the message's object as a problem and logs it; false when it could not be
  // recorded (then the message is Nak'ed instead of terminated).
  bool Park(const bus::Message& message, const Outcome& outcome);

  bus::Connection* connection_;
  Applier* applier_;
  log::Logger logger_;
  PartitionWorkerOptions options_;
  const std::atomic<bool>* stop_;
};

}  // namespace kubesync::synchronizer
