#include "partition_worker.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "kubesync/bus/recovery.h"
#include "kubesync/core/backoff.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/service/log_fields.h"

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

Settlement Decide(const Outcome& outcome, uint64_t delivery_count, int max_deliveries,
                  const std::function<bool()>& destination_answers) {
  switch (outcome.disposition()) {
    case Disposition::kAck:
      return Settlement::kAck;
    case Disposition::kTerm:
      // Nothing to name in a payload that does not decode; the rest is the object's.
      return outcome.effect == Effect::kInvalidMessage ? Settlement::kTerm : Settlement::kPark;
    case Disposition::kNak:
      break;
  }
  if (delivery_count < static_cast<uint64_t>(std::max(1, max_deliveries))) return Settlement::kNak;
  if (destination_answers && !destination_answers()) return Settlement::kNakOutage;
  return Settlement::kPark;
}

void PartitionWorker::Run() {
  Backoff backoff(BackoffPolicy{std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 2.0, 0.2});
  bus::ConsumerOptions consumer_options;
  consumer_options.stream = options_.stream;
  consumer_options.durable = DurableName(options_.partition);
  consumer_options.filter_subject = options_.filter_subject;
  consumer_options.ack_wait = options_.ack_wait;
  consumer_options.max_ack_pending = std::max(1, options_.batch);
  // A backstop far beyond the parking bound (an outage Naks every kOutageDelay).
  consumer_options.max_deliver = std::max<int64_t>(options_.server_max_deliver, options_.max_deliveries + 4);
  bus::StreamOptions stream_options;
  stream_options.id = options_.id;
  std::unique_ptr<bus::RecoveringConsumer> consumer;
  if (!options_.id.empty()) {
    consumer = std::make_unique<bus::RecoveringConsumer>(connection_, stream_options, consumer_options);
  }
  int64_t recreated = 0;
  while (!stop_->load()) {
    if (!consumer) {
      logger_.Error("error subscribing to nats",
                    {{"partition", options_.partition},
                     {"error", "no live synchronization id to recreate the stream with"}});
      return;
    }
    auto fetched = consumer->Fetch(std::max(1, options_.batch), options_.fetch_timeout);
    if (consumer->recreated() != recreated) {
      recreated = consumer->recreated();
      logger_.Warn("nats consumer was created again",
                   {{"partition", options_.partition}, {"consumer", consumer_options.durable}});
    }
    if (!fetched.ok()) {
      if (fetched.status().code() != Code::kDeadlineExceeded) {
        logger_.Warn("error fetching from nats",
                     {{"partition", options_.partition}, {"error", fetched.status().ToString()}});
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

bool PartitionWorker::Park(const bus::Message& message, const Outcome& outcome) {
  auto event = proto::Decode(message.data());
  if (!event.ok()) return true;  // cannot happen: the Applier decoded it
  const bool rejected = outcome.disposition() == Disposition::kTerm;
  const std::string_view reason = rejected ? state::kProblemRejected : state::kProblemDeliveryLimit;
  logger_.Error("object parked", {{"sourceObject", service::ObjectRef(*event)},
                                  {"event", service::EventField(event->type)},
                                  {"partition", options_.partition},
                                  {"reason", reason},
                                  {"effect", EffectName(outcome.effect)},
                                  {"deliveries", message.delivery_count()},
                                  {"error", outcome.error.ToString()}});
  Status reported = applier_->Park(*event, reason, outcome.error, message.delivery_count());
  if (!reported.ok()) {
    logger_.Warn("error writing object state",
                 {{"sourceObject", service::ObjectRef(*event)}, {"error", reported.ToString()}});
  }
  return reported.ok();
}

void PartitionWorker::Settle(bus::Message& message, const Outcome& outcome) {
  std::function<bool()> answers;
  if (options_.probe_destination) {
    answers = [this] {
      Status probe = options_.probe_destination();
      if (!probe.ok()) {
        logger_.Warn("destination not answering, not parking",
                     {{"partition", options_.partition}, {"error", probe.ToString()}});
      }
      return probe.ok();
    };
  }
  Status settled;
  switch (Decide(outcome, message.delivery_count(), options_.max_deliveries, answers)) {
    case Settlement::kAck:
      // Fire-and-forget: the write is durable in the destination and committed in Redis;
      // should the ack be lost, the message comes again and is found stale.
      settled = message.Ack();
      break;
    case Settlement::kNak:
      settled = message.Nak(NakDelay(message.delivery_count()));
      break;
    case Settlement::kNakOutage:
      settled = message.Nak(kOutageDelay);
      break;
    case Settlement::kPark:
      settled = Park(message, outcome) ? message.Term() : message.Nak(NakDelay(message.delivery_count()));
      break;
    case Settlement::kTerm:
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
