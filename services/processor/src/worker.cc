#include "worker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kubesync/service/log_fields.h"
#include "kubesync/state/problems.h"

namespace kubesync::processor {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum class Outcome { kAck, kNak, kTerm };

}  // namespace

std::chrono::milliseconds NakDelay(const BackoffPolicy& policy, uint64_t delivery_count) {
  const double factor = std::pow(policy.multiplier, static_cast<double>(std::min<uint64_t>(delivery_count, 30) - 1));
  const double ms = std::min(static_cast<double>(policy.max.count()), policy.initial.count() * factor);
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

void RunWorker(Processor& processor, bus::RecoveringConsumer& consumer, bus::AsyncPublisher& publisher,
               const WorkerConfig& config, const log::Logger& logger, const std::atomic<bool>& stop,
               const ReportFn& report) {
  int64_t recreated = consumer.recreated();
  while (!stop.load()) {
    Result<std::vector<bus::Message>> fetched = consumer.Fetch(config.batch, config.fetch_timeout);
    if (consumer.recreated() != recreated) {
      recreated = consumer.recreated();
      logger.Warn("nats consumer was created again", {{"consumer", consumer.options().durable}});
    }
    if (!fetched.ok()) {
      logger.Warn("error fetching events", {{"error", fetched.status().ToString()}});
      // Connection trouble: cnats reconnects; do not spin meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // NOLINT: pacing, not synchronisation
      continue;
    }
    std::vector<bus::Message>& messages = *fetched;
    std::vector<Outcome> outcome(messages.size(), Outcome::kAck);
    std::map<std::string, std::vector<size_t>> by_msg_id;  // sync msg id -> events messages
    std::map<std::string, proto::Event> sent;              // sync msg id -> what it carries
    // Gives up on events message i: record it durably, then terminate it (or, when the
    // record cannot be written, Nak it so that it is given up on again later).
    auto give_up = [&](size_t i, const proto::Event& event, std::string_view reason, const Status& error) {
      Status reported = report ? report(event, reason, error, messages[i].delivery_count()) : OkStatus();
      if (!reported.ok()) {
        logger.Warn("error writing object state",
                    {{"sourceObject", service::ObjectRef(event)}, {"error", reported.ToString()}});
      }
      outcome[i] = reported.ok() ? Outcome::kTerm : Outcome::kNak;
    };
    bool published = false;
    for (size_t i = 0; i < messages.size(); ++i) {
      Result<proto::Event> event = proto::Decode(messages[i].data());
      if (!event.ok()) {
        logger.Error("error decoding event", {{"error", event.status().ToString()},
                                              {"subject", std::string(messages[i].subject())},
                                              {"streamSequence", messages[i].stream_sequence()}});
        outcome[i] = Outcome::kTerm;
        continue;
      }
      Result<std::vector<Outgoing>> out = processor.Process(*event);
      if (!out.ok()) {
        outcome[i] = out.status().IsRetryable() ? Outcome::kNak : Outcome::kTerm;
        if (outcome[i] == Outcome::kTerm) {
          logger.Error("error processing event", {{"sourceObject", service::ObjectRef(*event)},
                                                  {"event", service::EventField(event->type)},
                                                  {"error", out.status().ToString()}});
          give_up(i, *event, state::kProblemRejected, out.status());
        } else {
          logger.Warn("error processing event, retrying", {{"sourceObject", service::ObjectRef(*event)},
                                                           {"error", out.status().ToString()}});
        }
        continue;
      }
      logger.Debug("event processed", {{"sourceObject", service::ObjectRef(*event)},
                                       {"event", service::EventField(event->type)},
                                       {"syncMessages", out->size()}});
      for (Outgoing& o : *out) {
        o.event.published_at_unix_nanos = NowNanos();
        Result<std::string> data = proto::Encode(o.event);
        if (!data.ok()) {
          logger.Error("error encoding event", {{"sourceObject", service::ObjectRef(o.event)},
                                                {"error", data.status().ToString()}});
          outcome[i] = Outcome::kTerm;
          break;
        }
        Status status = publisher.Publish(o.subject, *data, o.msg_id);
        if (bus::IsMessageTooLarge(status)) {
          // Cleaning and transforming can make an object that fit the events subject too
          // large for a sync subject; the rest of the event's messages still go.
          logger.Error("object too large to replicate", {{"sourceObject", service::ObjectRef(o.event)},
                                                         {"event", service::EventField(o.event.type)},
                                                         {"size", data->size()},
                                                         {"error", status.ToString()}});
          give_up(i, o.event, state::kProblemTooLarge, status);
          if (outcome[i] == Outcome::kNak) break;
          continue;
        }
        if (!status.ok()) {
          outcome[i] = Outcome::kNak;
          break;
        }
        by_msg_id[o.msg_id].push_back(i);
        sent.emplace(o.msg_id, o.event);
        published = true;
      }
    }
    if (published) {
      std::vector<bus::PublishFailure> failures;
      Status flushed = publisher.Flush(config.flush_timeout, &failures);
      if (!flushed.ok()) {
        logger.Warn("error publishing sync messages", {{"error", flushed.ToString()}, {"failures", failures.size()}});
        for (const bus::PublishFailure& f : failures) {
          auto it = by_msg_id.find(f.msg_id);
          if (it == by_msg_id.end()) continue;
          for (size_t i : it->second) {
            if (outcome[i] == Outcome::kNak) continue;  // (kTerm: another of its messages was given up on)
            if (bus::IsMessageTooLarge(f.error) && sent.count(f.msg_id) > 0) {
              // Over the stream's max message size: no retry will take it.
              const proto::Event& ev = sent.at(f.msg_id);
              logger.Error("object too large to replicate", {{"sourceObject", service::ObjectRef(ev)},
                                                             {"event", service::EventField(ev.type)},
                                                             {"size", f.data.size()},
                                                             {"error", f.error.ToString()}});
              give_up(i, ev, state::kProblemTooLarge, f.error);
            } else {
              outcome[i] = Outcome::kNak;
            }
          }
        }
        if (failures.empty()) {  // failed without telling which: redo the whole batch
          for (Outcome& o : outcome) {
            if (o == Outcome::kAck) o = Outcome::kNak;
          }
        }
      }
    }
    for (size_t i = 0; i < messages.size(); ++i) {
      Status status;
      switch (outcome[i]) {
        case Outcome::kAck:
          status = messages[i].Ack();
          break;
        case Outcome::kNak:
          status = messages[i].Nak(NakDelay(config.nak_backoff, messages[i].delivery_count()));
          break;
        case Outcome::kTerm:
          status = messages[i].Term();
          break;
      }
      if (!status.ok()) logger.Warn("error acknowledging event", {{"error", status.ToString()}});
    }
  }
}

}  // namespace kubesync::processor
