#include "worker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>
#include <string>
#include <vector>

#include "kubesync/service/log_fields.h"

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

void RunWorker(Processor& processor, bus::PullConsumer& consumer, bus::AsyncPublisher& publisher,
               const WorkerConfig& config, const log::Logger& logger, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    Result<std::vector<bus::Message>> fetched = consumer.Fetch(config.batch, config.fetch_timeout);
    if (!fetched.ok()) {
      logger.Warn("error fetching events", {{"error", fetched.status().ToString()}});
      // Connection trouble: cnats reconnects; do not spin meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // NOLINT: pacing, not synchronisation
      continue;
    }
    std::vector<bus::Message>& messages = *fetched;
    std::vector<Outcome> outcome(messages.size(), Outcome::kAck);
    std::map<std::string, std::vector<size_t>> by_msg_id;  // sync msg id -> events messages
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
        if (!status.ok()) {
          outcome[i] = Outcome::kNak;
          break;
        }
        by_msg_id[o.msg_id].push_back(i);
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
            if (outcome[i] == Outcome::kAck) outcome[i] = Outcome::kNak;
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
