// Which source cluster a LiveSynchronization's records belong to (issue 10 item 4), and
// the durable notes components leave for the controller to turn into Kubernetes Events.
//
//   kubesync:<id>:source      hash: uid, server, epoch, since (unix ms)
//   kubesync:<id>:notes       list of JSON notes, oldest first, at most kMaxNotes
//   kubesync:<id>:notes:seq   the last note's sequence number
//
// A source cluster is known by its kube-system Namespace uid plus the API server address
// the component connects to. resourceVersions of two clusters are never comparable, so each
// identity gets an epoch: a number that only grows (the unix milliseconds at which the
// identity was first seen, or the previous epoch + 1 if the clock is behind). Records carry
// the epoch of the event that wrote them (object_state.h), so a new source starts afresh
// and nothing recorded from the previous one is compared with it.
//
// Notes for the controller (helper "controller" reads them): List(id) returns them in order
// with their sequence numbers; after making an Event of each, Ack(id, last_seq) drops them.
// A note is JSON {"seq", "type" ("Normal"|"Warning"), "reason", "message", "component",
// "at" (unix ms)}; the reasons in use are kSourceClusterChangedReason and
// kNamespaceKeptReason.
//
// Thread-safe (RedisClient is). Errors: kUnavailable when Redis is unreachable,
// kInvalidArgument for a bad id, kDataLoss for a stored value that does not parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::state {

inline constexpr std::string_view kSourceClusterChangedReason = "SourceClusterChanged";
inline constexpr std::string_view kNamespaceKeptReason = "NamespaceKept";
inline constexpr int kMaxNotes = 100;

struct SourceIdentity {
  std::string uid;     // metadata.uid of the kube-system Namespace
  std::string server;  // the API server address ("https://10.0.0.1:6443")

  friend bool operator==(const SourceIdentity&, const SourceIdentity&) = default;
  std::string ToString() const;  // "server (kube-system uid <uid>)"
};

struct IdentityObservation {
  uint64_t epoch = 0;
  // The stored identity differed from the observed one (not on a first observation, nor
  // after the record was lost with the rest of Redis).
  bool changed = false;
  SourceIdentity previous;  // when changed
  uint64_t previous_epoch = 0;
};

struct Note {
  int64_t seq = 0;
  std::string type = "Warning";  // "Normal" or "Warning", as a Kubernetes Event's type
  std::string reason;
  std::string message;
  std::string component;
  int64_t at_unix_ms = 0;
};

class SourceIdentityStore {
 public:
  // `redis` and `clock` must outlive the store.
  explicit SourceIdentityStore(RedisClient* redis, const Clock* clock = &SystemClock::Get());

  // Records that the source of `id` is `identity` and returns its epoch, in one atomic
  // step. `known_epoch` is the epoch the caller already works with for this identity (0:
  // none): when Redis has no record (first start, or Redis lost its data) it is kept, so a
  // running component's epoch does not move. A different stored identity gets a new,
  // larger epoch and `changed`.
  Result<IdentityObservation> Observe(std::string_view id, const SourceIdentity& identity,
                                      uint64_t known_epoch = 0);
  // The stored identity and epoch; epoch 0 when none is stored.
  Result<std::pair<SourceIdentity, uint64_t>> Current(std::string_view id);

  // Appends a note (keeps the newest kMaxNotes); returns its sequence number. `note.seq`
  // and `note.at_unix_ms` are filled in.
  Result<int64_t> AddNote(std::string_view id, Note note);
  Result<std::vector<Note>> Notes(std::string_view id);
  // Drops every note with seq <= `up_to_seq`.
  Status AckNotes(std::string_view id, int64_t up_to_seq);

 private:
  RedisClient* redis_;
  const Clock* clock_;
};

}  // namespace kubesync::state
