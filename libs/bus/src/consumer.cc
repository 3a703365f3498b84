// Durable pull consumers and the messages they deliver.
#include <nats/nats.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kubesync/bus/jetstream.h"
#include "nats_util.h"

namespace kubesync::bus {

using internal::Nanos;
using internal::ToStatus;

namespace {

ConsumerStats StatsOf(const jsConsumerInfo& ci) {
  return ConsumerStats{ci.NumPending, ci.NumAckPending,    ci.NumRedelivered,
                       ci.NumWaiting, ci.Delivered.Stream, ci.AckFloor.Stream};
}

Status CheckDurable(const ConsumerOptions& o) {
  if (o.stream.empty()) return InvalidArgumentError("consumer: stream is required");
  if (o.durable.empty()) return InvalidArgumentError("consumer: durable name is required");
  if (o.durable.find_first_of(". *>\t") != std::string::npos) {
    return InvalidArgumentError("consumer: durable name \"" + o.durable +
                                "\" must not contain '.', '*', '>' or spaces");
  }
  if (o.filter_subject.empty()) return InvalidArgumentError("consumer: filter subject is required");
  if (o.ack_wait.count() <= 0) return InvalidArgumentError("consumer: ack_wait must be positive");
  return OkStatus();
}

}  // namespace

// ---- Message ----

Message::Message(natsMsg* msg) : msg_(msg) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg_) == NATS_OK) {
    delivery_count_ = meta->NumDelivered;
    stream_sequence_ = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
}

Message::Message(Message&& other) noexcept
    : msg_(other.msg_), delivery_count_(other.delivery_count_), stream_sequence_(other.stream_sequence_) {
  other.msg_ = nullptr;
}

Message& Message::operator=(Message&& other) noexcept {
  if (this != &other) {
    natsMsg_Destroy(msg_);
    msg_ = other.msg_;
    delivery_count_ = other.delivery_count_;
    stream_sequence_ = other.stream_sequence_;
    other.msg_ = nullptr;
  }
  return *this;
}

Message::~Message() { natsMsg_Destroy(msg_); }

std::string_view Message::data() const {
  return std::string_view(natsMsg_GetData(msg_), static_cast<size_t>(natsMsg_GetDataLength(msg_)));
}

std::string_view Message::subject() const { return natsMsg_GetSubject(msg_); }

Status Message::Ack() { return ToStatus(natsMsg_Ack(msg_, nullptr), "ack"); }

Status Message::AckSync() {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return ToStatus(natsMsg_AckSync(msg_, nullptr, &jerr), "ack", jerr);
}

Status Message::Nak(std::chrono::milliseconds delay) {
  if (delay.count() > 0) {
    return ToStatus(natsMsg_NakWithDelay(msg_, delay.count(), nullptr), "nak");
  }
  return ToStatus(natsMsg_Nak(msg_, nullptr), "nak");
}

Status Message::InProgress() { return ToStatus(natsMsg_InProgress(msg_, nullptr), "in-progress"); }

Status Message::Term() { return ToStatus(natsMsg_Term(msg_, nullptr), "term"); }

// ---- PullConsumer ----

PullConsumer::~PullConsumer() {
  // Destroy only: since cnats 3.4 this leaves the durable consumer on the server, which is
  // what replicas sharing it need (Unsubscribe would delete a consumer the call created).
  natsSubscription_Destroy(sub_);
}

Result<std::vector<Message>> PullConsumer::Fetch(int batch, std::chrono::milliseconds timeout) {
  if (batch <= 0) {
    return InvalidArgumentError("fetch batch must be positive, got " + std::to_string(batch));
  }
  natsMsgList list{nullptr, 0};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s =
      natsSubscription_Fetch(&list, sub_, batch, std::max<int64_t>(1, timeout.count()), &jerr);
  std::vector<Message> out;
  if (s == NATS_TIMEOUT) {
    return out;  // nothing arrived in time: not an error for a poller
  }
  if (s != NATS_OK) {
    return ToStatus(s, "fetch from " + options_.stream + "/" + options_.durable, jerr);
  }
  out.reserve(static_cast<size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.push_back(Message(list.Msgs[i]));
    list.Msgs[i] = nullptr;  // now owned by the Message
  }
  natsMsgList_Destroy(&list);
  return out;
}

Result<ConsumerStats> PullConsumer::Stats() {
  // natsSubscription_GetConsumerInfo refuses subscriptions bound to an existing consumer
  // (cnats 3.4.1: "Invalid Subscription"), so ask by stream and durable name.
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s =
      js_GetConsumerInfo(&ci, js_, options_.stream.c_str(), options_.durable.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    return ToStatus(s, "consumer info " + options_.durable, jerr);
  }
  ConsumerStats out = StatsOf(*ci);
  jsConsumerInfo_Destroy(ci);
  return out;
}

// ---- Connection: consumers ----

Result<std::unique_ptr<PullConsumer>> Connection::Subscribe(const ConsumerOptions& options) {
  KS_RETURN_IF_ERROR(CheckDurable(options));
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = options.durable.c_str();
  cc.Description = "kubesync pull consumer";
  cc.DeliverPolicy = js_DeliverAll;
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = Nanos(options.ack_wait);  // JetStream durations are nanoseconds
  cc.MaxDeliver = options.max_deliver;
  cc.MaxAckPending = options.max_ack_pending;
  cc.FilterSubject = options.filter_subject.c_str();
  cc.ReplayPolicy = js_ReplayInstant;

  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsConsumerInfo* ci = nullptr;
  natsStatus s =
      js_GetConsumerInfo(&ci, js_, options.stream.c_str(), options.durable.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
    jerr = static_cast<jsErrCode>(0);
    // Adding a durable with an identical config is idempotent on the server, so replicas
    // racing here all succeed.
    s = js_AddConsumer(&ci, js_, options.stream.c_str(), &cc, nullptr, &jerr);
    if (s != NATS_OK) {
      return ToStatus(s, "create consumer " + options.stream + "/" + options.durable, jerr);
    }
  } else if (s != NATS_OK) {
    return ToStatus(s, "consumer info " + options.stream + "/" + options.durable, jerr);
  } else {
    const jsConsumerConfig& have = *ci->Config;
    const std::string have_filter = have.FilterSubject != nullptr ? have.FilterSubject : "";
    if (have_filter != options.filter_subject) {
      jsConsumerInfo_Destroy(ci);
      return FailedPreconditionError("consumer " + options.stream + "/" + options.durable + " filters \"" +
                                     have_filter + "\", not \"" + options.filter_subject + "\"");
    }
    const bool differs = have.AckWait != cc.AckWait || have.MaxDeliver != cc.MaxDeliver ||
                         have.MaxAckPending != cc.MaxAckPending;
    if (differs) {
      jsConsumerInfo_Destroy(ci);
      ci = nullptr;
      s = js_UpdateConsumer(&ci, js_, options.stream.c_str(), &cc, nullptr, &jerr);
      if (s != NATS_OK) {
        return ToStatus(s, "update consumer " + options.stream + "/" + options.durable, jerr);
      }
    }
  }
  jsConsumerInfo_Destroy(ci);

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options.stream.c_str();
  so.Consumer = options.durable.c_str();  // bind only: never create or delete from here
  natsSubscription* sub = nullptr;
  s = js_PullSubscribe(&sub, js_, options.filter_subject.c_str(), options.durable.c_str(), nullptr, &so,
                       &jerr);
  if (s != NATS_OK) {
    return ToStatus(s, "bind consumer " + options.stream + "/" + options.durable, jerr);
  }
  return std::unique_ptr<PullConsumer>(new PullConsumer(options, sub, js_));
}

Status Connection::DeleteConsumer(std::string_view stream, std::string_view durable) {
  const std::string st(stream);
  const std::string du(durable);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return ToStatus(js_DeleteConsumer(js_, st.c_str(), du.c_str(), nullptr, &jerr),
                  "delete consumer " + st + "/" + du, jerr);
}

Result<ConsumerStats> Connection::GetConsumerStats(std::string_view stream, std::string_view durable) {
  const std::string st(stream);
  const std::string du(durable);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsConsumerInfo* ci = nullptr;
  const natsStatus s = js_GetConsumerInfo(&ci, js_, st.c_str(), du.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    return ToStatus(s, "consumer info " + st + "/" + du, jerr);
  }
  ConsumerStats out = StatsOf(*ci);
  jsConsumerInfo_Destroy(ci);
  return out;
}

}  // namespace kubesync::bus
