// AsyncPublisher: a bounded window of unacked JetStream publishes, with failures collected.
#include <nats/nats.h>

#include <algorithm>
#include <iterator>
#include <mutex>
#include <string>

#include "kubesync/bus/jetstream.h"
#include "nats_util.h"

namespace kubesync::bus {
namespace {

PublishFailure FailureOf(natsMsg* msg, Status error) {
  PublishFailure f;
  f.error = std::move(error);
  if (msg == nullptr) {
    return f;
  }
  if (const char* subject = natsMsg_GetSubject(msg); subject != nullptr) {
    f.subject = subject;
  }
  if (const char* data = natsMsg_GetData(msg); data != nullptr) {
    f.data.assign(data, static_cast<size_t>(natsMsg_GetDataLength(msg)));
  }
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
    f.msg_id = id;
  }
  return f;
}

}  // namespace

using internal::ToStatus;

struct AsyncPublisher::State {
  std::mutex mu;
  std::vector<PublishFailure> failures;

  // Runs on a cnats thread for each publish the server refused or that timed out.
  static void OnError(jsCtx*, jsPubAckErr* pae, void* closure) {
    auto* state = static_cast<State*>(closure);
    std::string text = pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(pae->Err);
    Status error = ToStatus(pae->Err, "async publish", pae->ErrCode);
    if (pae->ErrText != nullptr) {
      Status with_text(error.code(), "async publish: " + text);
      with_text.WithHttp(error.http_status(), error.reason());
      error = std::move(with_text);
    }
    std::lock_guard<std::mutex> lock(state->mu);
    state->failures.push_back(FailureOf(pae->Msg, std::move(error)));
  }
};

AsyncPublisher::AsyncPublisher() : state_(std::make_unique<State>()) {}

AsyncPublisher::~AsyncPublisher() {
  if (js_ != nullptr) {
    // Whatever is still unacked is dropped with the context; callers Flush first.
    jsCtx_Destroy(js_);
  }
}

Status AsyncPublisher::Init(natsConnection* nc, int window, std::chrono::milliseconds ack_timeout) {
  ack_timeout_ = ack_timeout;
  nc_ = nc;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = ack_timeout.count();
  jo.PublishAsync.MaxPending = window;
  jo.PublishAsync.ErrHandler = &State::OnError;
  jo.PublishAsync.ErrHandlerClosure = state_.get();
  // How long Publish blocks when the window is full before failing.
  jo.PublishAsync.StallWait = ack_timeout.count();
  return ToStatus(natsConnection_JetStream(&js_, nc, &jo), "jetstream context for async publish");
}

Status AsyncPublisher::Publish(std::string_view subject, std::string_view data, std::string_view msg_id) {
  const std::string subj(subject);
  const std::string id(msg_id);
  if (const int64_t max = natsConnection_GetMaxPayload(nc_);
      max > 0 && internal::WireSize(data, msg_id) > max) {
    return internal::TooLargeError("async publish to " + subj, internal::WireSize(data, msg_id), max,
                                   "the server's max_payload");
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = ack_timeout_.count();
  if (!id.empty()) {
    po.MsgId = id.c_str();
  }
  return ToStatus(js_PublishAsync(js_, subj.c_str(), data.data(), static_cast<int>(data.size()), &po),
                  "async publish to " + subj);
}

Status AsyncPublisher::Flush(std::chrono::milliseconds timeout, std::vector<PublishFailure>* failures) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = std::max<int64_t>(1, timeout.count());
  const natsStatus s = js_PublishAsyncComplete(js_, &po);
  std::vector<PublishFailure> failed;
  if (s != NATS_OK) {
    // Take back what is still unacked: the caller decides whether to publish it again
    // (with the same msg-id the stream drops the copies it already has).
    natsMsgList pending{nullptr, 0};
    if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) {
      for (int i = 0; i < pending.Count; ++i) {
        failed.push_back(FailureOf(
            pending.Msgs[i],
            DeadlineExceededError("async publish: no ack within " + std::to_string(timeout.count()) + "ms")));
      }
      natsMsgList_Destroy(&pending);
    }
  }
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    failed.insert(failed.begin(), std::make_move_iterator(state_->failures.begin()),
                  std::make_move_iterator(state_->failures.end()));
    state_->failures.clear();
  }
  if (failed.empty()) {
    return s == NATS_OK ? OkStatus() : ToStatus(s, "async publish flush");
  }
  Status result(failed.front().error.code(),
                std::to_string(failed.size()) + " async publishes failed; first: " + failed.front().subject +
                    " msg-id \"" + failed.front().msg_id + "\": " + failed.front().error.message());
  if (failures != nullptr) {
    *failures = std::move(failed);
  }
  return result;
}

}  // namespace kubesync::bus
