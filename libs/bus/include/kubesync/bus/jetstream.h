// NATS JetStream for kubesync's components (cnats underneath): one connection per process
// that reconnects forever with backoff, one stream per LiveSynchronization, durable pull
// consumers shared by replicas, and publishing that waits for the stream's ack.
//
// Delivery is at-least-once. A published message is durable once Publish returns OK (or
// AsyncPublisher::Flush reports it acked). A consumer acks only after its effect is
// durable; an unacked message is redelivered after AckWait, to any replica of the durable.
//
// Errors are kubesync::Status: kUnavailable for connection problems (retry with backoff),
// kDeadlineExceeded when the server did not answer in time (retry), kNotFound for a missing
// stream or consumer, kFailedPrecondition for a server-side refusal that retrying will not
// fix (e.g. an existing stream with another storage type). A message larger than the
// server's max_payload or the stream's max message size is refused before it is sent (or
// by the stream) with kInvalidArgument and reason kReasonMessageTooLarge: retrying the same
// message can never succeed (IsMessageTooLarge).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/backoff.h"
#include "kubesync/core/status.h"

// cnats types, kept opaque here.
struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;
struct __jsCtx;

namespace kubesync::bus {

// The largest message kubesync puts on the bus: one object (Kubernetes stores objects of up
// to about 1.5 MiB; as JSON, base64 binaryData grows by a third) plus its envelope. The
// streams' max message size, and the max_payload of the nats-server kubesync starts (the
// server's default, 1 MiB, is too small). nats-server warns above 8 MiB.
inline constexpr int32_t kMaxMessageBytes = 8 << 20;

// Status::reason() of a message refused for its size.
inline constexpr std::string_view kReasonMessageTooLarge = "MessageTooLarge";
inline bool IsMessageTooLarge(const Status& s) { return !s.ok() && s.reason() == kReasonMessageTooLarge; }

enum class ConnectionEvent { kDisconnected, kReconnected, kClosed };
std::string_view ConnectionEventName(ConnectionEvent event);

struct ConnectionOptions {
  std::string url = "nats://127.0.0.1:4222";  // comma-separated list allowed
  std::string name;                           // client name, shown by the server
  std::chrono::milliseconds connect_timeout{2000};
  // Delay between reconnect rounds: exponential with jitter, capped. Reconnects never stop.
  BackoffPolicy reconnect_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 2.0, 0.2};
  // Keep trying when the very first connect fails (Connect then returns OK at once and the
  // connection comes up later); false: Connect fails with kUnavailable.
  bool retry_on_failed_connect = false;
  // Timeout of JetStream API calls and of waiting for a publish ack.
  std::chrono::milliseconds request_timeout{5000};
  // Called from a cnats thread on every state change; must not block.
  std::function<void(ConnectionEvent)> on_event;

  // Authentication, at most one kind: user and password, a token, or a .creds file (JWT
  // and nkey seed, as `nsc` writes it). Never logged; errors name the server, not these.
  std::string user;
  std::string password;
  std::string token;
  std::string creds_file;
  // TLS: required when set (or when the URL is tls://); the server certificate must chain
  // to this CA file (PEM) and name the host of the URL. Empty with tls: the system CAs.
  std::string ca_file;
  bool tls = false;
  // Subjects of this connection's reply inboxes ("" = cnats' "_INBOX"). A server that
  // gives each LiveSynchronization its own user lets it subscribe only to its own prefix.
  std::string inbox_prefix;
};

struct StreamOptions {
  std::string id;         // LiveSynchronization "<namespace>.<name>"; names and subjects derive from it
  int64_t max_msgs = -1;  // -1: unlimited
  int64_t max_bytes = 1LL << 30;               // 1 GiB per LiveSynchronization
  std::chrono::seconds max_age{24 * 3600};     // older messages go; the hourly resync heals
  std::chrono::seconds duplicate_window{120};  // Nats-Msg-Id dedup window
  int32_t max_msg_size = kMaxMessageBytes;     // one object plus envelope
  bool memory_storage = false;                 // file storage unless a test says otherwise
};

struct PublishAck {
  std::string stream;
  uint64_t sequence = 0;
  bool duplicate = false;  // the stream already had this msg-id inside the dedup window
};

struct PublishFailure {
  std::string subject;
  std::string msg_id;
  std::string data;  // kept so the caller can publish again
  Status error;
};

struct ConsumerOptions {
  std::string stream;          // StreamName(id)
  std::string durable;         // replicas with the same durable share the work; no '.'
  std::string filter_subject;  // EventsSubject(id) or SyncSubject(id, p)
  std::chrono::milliseconds ack_wait{30'000};
  int64_t max_deliver = -1;        // -1: unlimited redeliveries
  int64_t max_ack_pending = 1000;  // in-flight unacked messages across all replicas
  // No JetStream BackOff list: nats-server 2.9 then replaces the delay of every Nak after
  // the first by the list's, which would stall messages a worker gives back on purpose.
};

struct StreamStats {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  int64_t consumers = 0;
  int64_t created_unix_nanos = 0;  // changes when the stream is deleted and created again
};

struct ConsumerStats {
  uint64_t num_pending = 0;     // in the stream, not yet delivered
  int64_t num_ack_pending = 0;  // delivered, not yet acked
  int64_t num_redelivered = 0;
  int64_t num_waiting = 0;  // pull requests waiting
  uint64_t delivered_stream_sequence = 0;
  uint64_t ack_floor_stream_sequence = 0;
};

// One delivered message. Owns the cnats message. Move-only; not thread-safe (one worker
// handles a message), but messages of one Fetch may go to different threads.
class Message {
 public:
  Message(Message&& other) noexcept;
  Message& operator=(Message&& other) noexcept;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message();

  std::string_view data() const;
  std::string_view subject() const;
  uint64_t delivery_count() const { return delivery_count_; }  // 1 on first delivery
  uint64_t stream_sequence() const { return stream_sequence_; }

  // Done: never redeliver. Ack is fire-and-forget (the ack can be lost, then the message
  // comes again: consumers are idempotent); AckSync waits for the server to confirm.
  Status Ack();
  Status AckSync();
  // Redeliver, after `delay` (0: at once).
  Status Nak(std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Still working on it: restarts the AckWait timer.
  Status InProgress();
  // Never redeliver, e.g. a payload that does not decode.
  Status Term();

 private:
  friend class PullConsumer;
  explicit Message(__natsMsg* msg);
  __natsMsg* msg_ = nullptr;
  uint64_t delivery_count_ = 0;
  uint64_t stream_sequence_ = 0;
};

// A bound pull subscription on a durable consumer. Fetch is not thread-safe: use one
// PullConsumer per fetching thread (several may bind the same durable). Must not outlive
// the Connection that made it; neither may its Messages.
class PullConsumer {
 public:
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Up to `batch` messages, waiting at most `timeout`; an empty vector when none came.
  Result<std::vector<Message>> Fetch(int batch, std::chrono::milliseconds timeout);
  Result<ConsumerStats> Stats();
  const ConsumerOptions& options() const { return options_; }

 private:
  friend class Connection;
  PullConsumer(ConsumerOptions options, __natsSubscription* sub, __jsCtx* js)
      : options_(std::move(options)), sub_(sub), js_(js) {}
  ConsumerOptions options_;
  __natsSubscription* sub_;
  __jsCtx* js_;  // the Connection's; for consumer info
};

// Publishes without waiting for each ack, at most `window` in flight (Publish blocks while
// the window is full). Not thread-safe: one per publishing thread.
class AsyncPublisher {
 public:
  ~AsyncPublisher();
  AsyncPublisher(const AsyncPublisher&) = delete;
  AsyncPublisher& operator=(const AsyncPublisher&) = delete;

  // Queues one message; errors here are local (closed connection, window stalled, a
  // message over the server's max_payload: IsMessageTooLarge).
  Status Publish(std::string_view subject, std::string_view data, std::string_view msg_id);
  // Waits until every queued message is acked or failed, at most `timeout`. OK when all
  // were acked; otherwise an error counting the failures, which are handed back in
  // `failures` (messages still unacked at the deadline fail with kDeadlineExceeded).
  Status Flush(std::chrono::milliseconds timeout, std::vector<PublishFailure>* failures = nullptr);

 private:
  friend class Connection;
  struct State;  // failures reported by the cnats ack thread
  AsyncPublisher();
  Status Init(__natsConnection* nc, int window, std::chrono::milliseconds ack_timeout);
  std::unique_ptr<State> state_;
  __natsConnection* nc_ = nullptr;  // for the server's max_payload
  __jsCtx* js_ = nullptr;
  std::chrono::milliseconds ack_timeout_{5000};
};

class Connection {
 public:
  // kUnavailable when no server answers (unless retry_on_failed_connect).
  static Result<std::unique_ptr<Connection>> Connect(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool IsConnected() const;
  // The largest message the server accepts (its max_payload, headers included), as it
  // announced on connect; 0 before the first connect.
  int64_t MaxPayload() const;

  // Creates the stream of `options.id` (subjects events and sync.*), or updates it when
  // its subjects or limits differ; an identical stream is left alone. Returns the name.
  Result<std::string> EnsureStream(const StreamOptions& options);
  Status DeleteStream(std::string_view stream);
  Result<StreamStats> GetStreamStats(std::string_view stream);

  // Publishes and waits for the stream's ack. `msg_id` (may be empty) becomes the
  // Nats-Msg-Id header: the stream drops a repeat inside its duplicate window. A message
  // over MaxPayload() is refused without sending (IsMessageTooLarge), as is one over the
  // stream's max message size by the stream.
  Result<PublishAck> Publish(std::string_view subject, std::string_view data, std::string_view msg_id);
  Result<std::unique_ptr<AsyncPublisher>> NewAsyncPublisher(int window = 256);

  // Creates the durable pull consumer if missing (updating AckWait/MaxDeliver/
  // MaxAckPending when they differ) and binds to it. The consumer outlives this process.
  Result<std::unique_ptr<PullConsumer>> Subscribe(const ConsumerOptions& options);
  Status DeleteConsumer(std::string_view stream, std::string_view durable);
  Result<ConsumerStats> GetConsumerStats(std::string_view stream, std::string_view durable);

 private:
  Connection() = default;
  struct Callbacks;
  ConnectionOptions options_;
  std::unique_ptr<Callbacks> callbacks_;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
};

}  // namespace kubesync::bus
