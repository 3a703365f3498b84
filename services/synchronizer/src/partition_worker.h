// One partition of the sync subject: binds the durable consumer "synchronizer-<p>"
// (MaxAckPending = 1, so across every replica only one message of the partition is in
// flight: this is what keeps one object's events in source order), fetches one message at
// a time, applies it and acks, naks (with a growing delay) or terminates it.
//
// Thread-safety: Run blocks its own thread; nothing else is shared but the Applier
// (thread-safe) and the Connection (thread-safe).
#pragma once

#include <atomic>
#include <chrono>
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
