// Repairing lost NATS state (issue 10, item 7). A stream or a durable consumer can vanish
// under a running component: a nats-server without persistent storage restarts, or an
// operator runs `nats stream rm`. Every component then recreates what it needs:
//
//   StreamKeeper        the publisher's side: notices that the stream is missing (creates
//                       it) or is not the one it saw before (someone else created it
//                       again), so the caller can publish again what may have been lost
//                       (the events listener re-lists the source).
//   RecoveringConsumer  the consumer's side: a durable pull consumer that, when the
//                       consumer or its stream is gone, creates both again and binds to
//                       the new consumer, which delivers whatever the stream holds.
//
// A stream found missing is created again only once it has been missing for a grace
// period (2 s): nats-server 2.9 removes a deleted stream's files in the background, and a
// stream created again at once under the same name can lose its files to that removal
// (its publishes then fail for good with "error opening msg block file").
//
// Not thread-safe: one object per thread. The Connection must outlive them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "kubesync/bus/jetstream.h"
#include "kubesync/core/status.h"

namespace kubesync::bus {

inline constexpr std::chrono::milliseconds kRecreateGrace{2000};

class StreamKeeper {
 public:
  StreamKeeper(Connection* connection, StreamOptions stream,
               std::chrono::milliseconds recreate_grace = kRecreateGrace);

  // Looks at the stream and creates it when it is missing. True when the stream is not the
  // one the previous call saw (deleted and created again, by this call or by another
  // component): messages published before may be lost. The first call only remembers it
  // (false, unless it had to create the stream). Errors: kUnavailable/kDeadlineExceeded
  // while NATS is away or the stream is missing but within its grace period (call again
  // later), or EnsureStream's errors.
  Result<bool> Check();

 private:
  Connection* connection_;
  StreamOptions stream_;
  std::chrono::milliseconds recreate_grace_;
  int64_t seen_created_ = 0;  // creation time of the stream last seen; 0: none yet
  std::optional<std::chrono::steady_clock::time_point> missing_since_;
};

// OK when the stream exists or was created now; kUnavailable while it has been missing
// for less than `grace` (since `*missing_since`, which this sets and clears).
Status EnsureStreamAfterGrace(Connection* connection, const StreamOptions& stream,
                              std::chrono::milliseconds grace,
                              std::optional<std::chrono::steady_clock::time_point>* missing_since,
                              bool* created = nullptr);

class RecoveringConsumer {
 public:
  // `verify_every`: while fetches come back empty, how often to ask the server whether the
  // consumer still exists (a fetch from a deleted consumer may just time out).
  RecoveringConsumer(Connection* connection, StreamOptions stream, ConsumerOptions consumer,
                     std::chrono::milliseconds verify_every = std::chrono::seconds(10),
                     std::chrono::milliseconds recreate_grace = kRecreateGrace);
  ~RecoveringConsumer();
  RecoveringConsumer(const RecoveringConsumer&) = delete;
  RecoveringConsumer& operator=(const RecoveringConsumer&) = delete;

  // Binds first when needed (the stream and the consumer are created when missing), then
  // fetches up to `batch` messages waiting at most `timeout` (empty: none came). When the
  // consumer turns out to be gone, the binding is dropped and the next call creates it
  // again. Errors are the binding's or the fetch's (kUnavailable while NATS is away): the
  // caller retries with backoff.
  Result<std::vector<Message>> Fetch(int batch, std::chrono::milliseconds timeout);

  // Times the consumer (or its stream) was found gone and created again.
  int64_t recreated() const { return recreated_; }
  const ConsumerOptions& options() const { return consumer_; }

 private:
  Status Bind();
  // Drops the binding when the server no longer has the consumer; NotFound then.
  Status Verify();  // NotFound (binding dropped) when the consumer is gone

  Connection* connection_;
  StreamOptions stream_;
  ConsumerOptions consumer_;
  std::chrono::milliseconds verify_every_;
  std::chrono::milliseconds recreate_grace_;
  std::optional<std::chrono::steady_clock::time_point> missing_since_;
  std::unique_ptr<PullConsumer> bound_;
  bool lost_ = false;  // the consumer was found gone: the next Bind recreates it
  int64_t recreated_ = 0;
  std::chrono::steady_clock::time_point last_verified_;
};

}  // namespace kubesync::bus
