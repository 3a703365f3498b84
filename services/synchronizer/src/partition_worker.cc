#include "partition_worker.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "kubesync/core/backoff.h"

namespace kubesync::synchronizer {

std::string DurableName(int partition) { return "synchronizer-" + std::to_string(partition); }

std::chrono::milliseconds NakDelay(uint64_t delivery_count) {
  const uint64_t shift = std::min<uint64_t>(delivery_count > 0 ? delivery_count - 1 : 0, 5);
  return std::min(std::chrono::milliseconds(250) * (1 << shift), std::chrono::milliseconds(5000));
}

PartitionWorker::PartitionWorker(bus::Connection* connection, Applier* applier, log::Logger logger,
                                 PartitionWorkerOptions options, const std::atomic<bool>* stop)
    : connection_(connection),
      applier_(applier),
      logger_(std::move(logger)),
      options_(std::move(options)),
      stop_(stop) {}

namespace {

// Sleeps up to `d`, waking early when `stop` is set.
void PauseUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>* stop) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop->load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(d, std::chrono::milliseconds(50)));
  }
}

}  // namespace

void PartitionWorker::Run() {
  Backoff backoff(BackoffPolicy{std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 2.0, 0.2});
  std::unique_ptr<bus::PullConsumer> consumer;
  while (!stop_->load()) {
    if (!consumer) {
      bus::ConsumerOptions options;
      options.stream = options_.stream;
      options.durable = DurableName(options_.partition);
      options.filter_subject = options_.filter_subject;
      options.ack_wait = options_.ack_wait;
      options.max_ack_pending = 1;
      auto subscribed = connection_->Subscribe(options);
      if (!subscribed.ok()) {
        logger_.Warn("error subscribing to nats",
                     {{"partition", options_.partition}, {"error", subscribed.status().ToString()}});
        PauseUnlessStopped(backoff.Next(), stop_);
        continue;
      }
      consumer = std::move(*subscribed);
      backoff.Reset();
    }
    auto fetched = consumer->Fetch(1, options_.fetch_timeout);
    if (!fetched.ok()) {
      if (fetched.status().code() != Code::kDeadlineExceeded) {
        logger_.Warn("error fetching from nats",
                     {{"partition", options_.partition}, {"error", fetched.status().ToString()}});
        if (fetched.status().code() == Code::kNotFound) consumer.reset();  // stream/consumer gone: bind again
        PauseUnlessStopped(backoff.Next(), stop_);
      }
      continue;
    }
    backoff.Reset();
    for (bus::Message& message : *fetched) {
      std::function<void()> keepalive = [&message] { (void)message.InProgress(); };
      Outcome outcome = applier_->Apply(message.data(), keepalive);
      Settle(message, outcome);
    }
  }
}

void PartitionWorker::Settle(bus::Message& message, const Outcome& outcome) {
  Status settled;
  switch (outcome.disposition()) {
    case Disposition::kAck:
      // Synchronous: with MaxAckPending 1 the server hands out this partition's next
      // message only once it has processed the ack, so a fire-and-forget ack would leave
      // the next Fetch waiting out its timeout.
      settled = message.AckSync();
      break;
    case Disposition::kNak:
      settled = message.Nak(NakDelay(message.delivery_count()));
      break;
    case Disposition::kTerm:
      settled = message.Term();
      break;
  }
  // A lost ack only means the message comes again; the Applier is idempotent.
  if (!settled.ok()) {
    logger_.Warn("error acknowledging nats message",
                 {{"partition", options_.partition}, {"error", settled.ToString()}});
  }
}

}  // namespace kubesync::synchronizer
