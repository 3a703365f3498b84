// Connection: connect, reconnect forever, state callbacks, synchronous publish.
#include <nats/nats.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "kubesync/bus/jetstream.h"
#include "nats_util.h"

namespace kubesync::bus {

using internal::ToStatus;

namespace {

// URLs as they may be shown: passwords in them ("nats://user:pw@host") become "<redacted>".
std::string RedactUrl(const std::string& urls) {
  std::string out;
  size_t start = 0;
  while (start <= urls.size()) {
    size_t end = urls.find(',', start);
    if (end == std::string::npos) end = urls.size();
    std::string url = urls.substr(start, end - start);
    const size_t scheme = url.find("://");
    const size_t from = scheme == std::string::npos ? 0 : scheme + 3;
    const size_t at = url.rfind('@');
    if (at != std::string::npos && at >= from) {
      const size_t colon = url.find(':', from);
      const std::string user = colon != std::string::npos && colon < at ? url.substr(from, colon - from) : "";
      url = url.substr(0, from) + user + (user.empty() ? "" : ":") + "<redacted>" + url.substr(at);
    }
    if (!out.empty()) out += ",";
    out += url;
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string_view ConnectionEventName(ConnectionEvent event) {
  switch (event) {
    case ConnectionEvent::kDisconnected:
      return "disconnected";
    case ConnectionEvent::kReconnected:
      return "reconnected";
    case ConnectionEvent::kClosed:
      return "closed";
  }
  return "unknown";
}

// Lives as long as the Connection; cnats threads call into it through `closure`.
struct Connection::Callbacks {
  BackoffPolicy backoff;
  std::function<void(ConnectionEvent)> on_event;
  std::atomic<bool> closed{false};

  static void Disconnected(natsConnection*, void* closure) {
    static_cast<Callbacks*>(closure)->Fire(ConnectionEvent::kDisconnected);
  }
  static void Reconnected(natsConnection*, void* closure) {
    static_cast<Callbacks*>(closure)->Fire(ConnectionEvent::kReconnected);
  }
  static void Connected(natsConnection*, void* closure) {  // first connect after a retry
    static_cast<Callbacks*>(closure)->Fire(ConnectionEvent::kReconnected);
  }
  static void Closed(natsConnection*, void* closure) {
    auto* self = static_cast<Callbacks*>(closure);
    self->Fire(ConnectionEvent::kClosed);
    // The last touch of `self`: ~Connection waits for it before freeing the callbacks,
    // because cnats runs this on its own thread after natsConnection_Close returns.
    self->closed.store(true, std::memory_order_release);
  }
  // cnats asks after each full pass over the server list; `attempts` counts passes.
  static int64_t ReconnectDelay(natsConnection*, int attempts, void* closure) {
    const BackoffPolicy& p = static_cast<Callbacks*>(closure)->backoff;
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const double exponent = std::min(std::max(attempts - 1, 0), 30);
    const double base = std::min(static_cast<double>(p.initial.count()) * std::pow(p.multiplier, exponent),
                                 static_cast<double>(p.max.count()));
    const double factor = 1.0 + p.jitter * (2.0 * std::uniform_real_distribution<double>(0, 1)(rng) - 1.0);
    return static_cast<int64_t>(
        std::llround(std::clamp(base * factor, 1.0, static_cast<double>(p.max.count()))));
  }
  void Fire(ConnectionEvent event) const {
    if (on_event) {
      on_event(event);
    }
  }
};

Result<std::unique_ptr<Connection>> Connection::Connect(ConnectionOptions options) {
  std::unique_ptr<Connection> conn(new Connection());
  conn->options_ = std::move(options);
  conn->callbacks_ = std::make_unique<Callbacks>();
  conn->callbacks_->backoff = conn->options_.reconnect_backoff;
  conn->callbacks_->on_event = conn->options_.on_event;
  Callbacks* cb = conn->callbacks_.get();
  const ConnectionOptions& o = conn->options_;

  // cnats reads a .creds file only when it connects, and then fails like an unreachable
  // server: name the file now instead.
  if (!o.creds_file.empty() && ::access(o.creds_file.c_str(), R_OK) != 0) {
    return InvalidArgumentError("nats creds file " + o.creds_file + ": " + std::strerror(errno));
  }
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, o.url.c_str());
  if (s == NATS_OK && !o.name.empty()) s = natsOptions_SetName(opts, o.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, o.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);  // negative: never give up
  if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(opts, &Callbacks::ReconnectDelay, cb);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &Callbacks::Disconnected, cb);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &Callbacks::Reconnected, cb);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, &Callbacks::Closed, cb);
  if (s == NATS_OK && !o.user.empty()) s = natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str());
  if (s == NATS_OK && !o.token.empty()) s = natsOptions_SetToken(opts, o.token.c_str());
  if (s == NATS_OK && !o.creds_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(opts, o.creds_file.c_str(), nullptr);
  }
  if (s == NATS_OK && (o.tls || !o.ca_file.empty())) s = natsOptions_SetSecure(opts, true);
  if (s == NATS_OK && !o.ca_file.empty()) s = natsOptions_LoadCATrustedCertificates(opts, o.ca_file.c_str());
  if (s == NATS_OK && !o.inbox_prefix.empty())
    s = natsOptions_SetCustomInboxPrefix(opts, o.inbox_prefix.c_str());
  if (s == NATS_OK && o.retry_on_failed_connect) {
    s = natsOptions_SetRetryOnFailedConnect(opts, true, &Callbacks::Connected, cb);
  }
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    // The CA or creds file named: the usual reason is a missing or unreadable file.
    std::string what = "nats options";
    if (!o.ca_file.empty()) what += " (CA file " + o.ca_file + ")";
    if (!o.creds_file.empty()) what += " (creds file " + o.creds_file + ")";
    return Status(Code::kInvalidArgument, ToStatus(s, what).message());
  }
  s = natsConnection_Connect(&conn->nc_, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_NOT_YET_CONNECTED) {
    s = NATS_OK;  // retry_on_failed_connect: cnats keeps trying in the background
  }
  if (s != NATS_OK) {
    Status st = ToStatus(s, "connect to " + RedactUrl(o.url));
    // A refused password or certificate is not going away: say so instead of retrying.
    if (s == NATS_CONNECTION_AUTH_FAILED ||
        st.message().find("Authorization Violation") != std::string::npos) {
      return UnauthenticatedError(st.message() + (o.user.empty() ? "" : " (user \"" + o.user + "\")"));
    }
    if (s == NATS_SSL_ERROR || s == NATS_SECURE_CONNECTION_REQUIRED || s == NATS_SECURE_CONNECTION_WANTED) {
      return FailedPreconditionError(st.message());
    }
    return Status(Code::kUnavailable, st.message());
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.request_timeout.count();
  s = natsConnection_JetStream(&conn->js_, conn->nc_, &jo);
  if (s != NATS_OK) {
    return ToStatus(s, "jetstream context");
  }
  return conn;
}

Connection::~Connection() {
  if (js_ != nullptr) {
    jsCtx_Destroy(js_);
  }
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    // The closed callback still runs on a cnats thread; wait for it (bounded) so it never
    // touches freed callbacks.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!callbacks_->closed.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    natsConnection_Destroy(nc_);
  }
}

bool Connection::IsConnected() const {
  return nc_ != nullptr && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

int64_t Connection::MaxPayload() const { return nc_ != nullptr ? natsConnection_GetMaxPayload(nc_) : 0; }

Result<PublishAck> Connection::Publish(std::string_view subject, std::string_view data,
                                       std::string_view msg_id) {
  const std::string subj(subject);
  if (const int64_t max = MaxPayload(); max > 0 && internal::WireSize(data, msg_id) > max) {
    return internal::TooLargeError("publish to " + subj, internal::WireSize(data, msg_id), max,
                                   "the server's max_payload");
  }
  const std::string id(msg_id);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = options_.request_timeout.count();
  if (!id.empty()) {
    po.MsgId = id.c_str();
  }
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s =
      js_Publish(&pa, js_, subj.c_str(), data.data(), static_cast<int>(data.size()), &po, &jerr);
  if (s != NATS_OK) {
    return ToStatus(s, "publish to " + subj, jerr);
  }
  PublishAck ack{pa->Stream != nullptr ? pa->Stream : "", pa->Sequence, pa->Duplicate};
  jsPubAck_Destroy(pa);
  return ack;
}

Result<std::unique_ptr<AsyncPublisher>> Connection::NewAsyncPublisher(int window) {
  if (window <= 0) {
    return InvalidArgumentError("async publish window must be positive, got " + std::to_string(window));
  }
  std::unique_ptr<AsyncPublisher> pub(new AsyncPublisher());
  pub->ack_timeout_ = options_.request_timeout;
  KS_RETURN_IF_ERROR(pub->Init(nc_, window, options_.request_timeout));
  return pub;
}

}  // namespace kubesync::bus
