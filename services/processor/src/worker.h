// One processor worker: fetches batches from the shared durable consumer "processor" on
// the events subject, turns each message into sync messages (Processor), publishes them
// asynchronously, and acks each events message only after all its sync publishes are
// acked by JetStream. A payload that does not decode is logged and terminated; retryable
// failures are Nak'ed with a delay growing with the delivery count.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "kubesync/bus/jetstream.h"
#include "kubesync/core/log.h"
#include "processor.h"

namespace kubesync::processor {

struct WorkerConfig {
  int batch = 64;
  std::chrono::milliseconds fetch_timeout{1000};
  std::chrono::milliseconds flush_timeout{10'000};
  BackoffPolicy nak_backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(30'000), 2.0, 0.0};
};

// Runs until `stop` is set; the batch in hand is finished first. `consumer` and
// `publisher` belong to this worker's thread.
void RunWorker(Processor& processor, bus::PullConsumer& consumer, bus::AsyncPublisher& publisher,
               const WorkerConfig& config, const log::Logger& logger, const std::atomic<bool>& stop);

// The delay before redelivering a message delivered `delivery_count` times.
std::chrono::milliseconds NakDelay(const BackoffPolicy& policy, uint64_t delivery_count);

}  // namespace kubesync::processor
