// One processor worker: fetches batches from the shared durable consumer "processor" on
// the events subject, turns each message into sync messages (Processor), publishes them
// asynchronously, and acks each events message only after all its sync publishes are
// acked by JetStream. A payload that does not decode is logged and terminated; retryable
// failures are Nak'ed with a delay growing with the delivery count. An event that can
// never go through (a transformation that cannot apply, a result too large for the bus) is
// reported (ReportFn: a durable record the controller shows) and terminated; should the
// report fail, it is Nak'ed and tried again. The consumer is a RecoveringConsumer: a
// deleted consumer or stream is created again.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/recovery.h"
#include "kubesync/core/log.h"
#include "processor.h"

namespace kubesync::processor {

struct WorkerConfig {
  int batch = 64;
  std::chrono::milliseconds fetch_timeout{1000};
  std::chrono::milliseconds flush_timeout{10'000};
  BackoffPolicy nak_backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(30'000), 2.0, 0.0};
};

// Records an event given up on: `reason` is a state::kProblem* value.
using ReportFn = std::function<Status(const proto::Event& event, std::string_view reason, const Status& error,
                                      uint64_t deliveries)>;

// Runs until `stop` is set; the batch in hand is finished first. `consumer` and
// `publisher` belong to this worker's thread. `report` may be empty (then nothing is
// recorded).
void RunWorker(Processor& processor, bus::RecoveringConsumer& consumer, bus::AsyncPublisher& publisher,
               const WorkerConfig& config, const log::Logger& logger, const std::atomic<bool>& stop,
               const ReportFn& report = nullptr);

// The delay before redelivering a message delivered `delivery_count` times.
std::chrono::milliseconds NakDelay(const BackoffPolicy& policy, uint64_t delivery_count);

}  // namespace kubesync::processor
