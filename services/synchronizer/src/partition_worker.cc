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
      options.max_ack_pending = std::max(1, options_.batch);
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
    auto fetched = consumer->Fetch(std::max(1, options_.batch), options_.fetch_timeout);
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
    std::vector<bus::Message>& batch = *fetched;
    // Tell NATS we are still at it only when a third of the AckWait has gone by (one
    // message per remote call would cost the server as much as the work itself), and then
    // for every message of the batch not yet settled: they all wait on this thread.
    const auto touch_every = options_.ack_wait / 3;
    auto last_touch = std::chrono::steady_clock::now();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (stop_->load()) {
        // Stopping: the rest goes back at once, in order, for whoever comes next.
        for (size_t j = i; j < batch.size(); ++j) (void)batch[j].Nak();
        break;
      }
      std::function<void()> keepalive = [&batch, i, &last_touch, touch_every] {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_touch < touch_every) return;
        last_touch = now;
        for (size_t j = i; j < batch.size(); ++j) (void)batch[j].InProgress();
      };
      keepalive();
      if (options_.apply_slots != nullptr) {
        // Waiting for a slot must not let the batch's AckWait run out.
        while (!options_.apply_slots->try_acquire_for(std::chrono::milliseconds(250))) keepalive();
      }
      Outcome outcome = applier_->Apply(batch[i].data(), keepalive);
      if (options_.apply_slots != nullptr) options_.apply_slots->release();
      Settle(batch[i], outcome);
    }
  }
}

void PartitionWorker::Settle(bus::Message& message, const Outcome& outcome) {
  Status settled;
  switch (outcome.disposition()) {
    case Disposition::kAck:
      // Fire-and-forget: the write is durable in the destination and committed in Redis;
      // should the ack be lost, the message comes again and is found stale.
      settled = message.Ack();
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
