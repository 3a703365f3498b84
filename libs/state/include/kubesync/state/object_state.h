// The synchronizer's per-object record in Redis, which keeps events of one object applied
// in source order even with several synchronizer replicas and redeliveries (DESIGN.md,
// "Ordering" and "Idempotence").
//
//   kubesync:<id>:obj:<group>/<resource>/<namespace>/<name>  hash:
//       rv         last applied source resourceVersion (decimal uint64)
//       uid        source uid
//       hash       content hash after transformation ("" for a tombstone)
//       deleted    "0" or "1"
//       updatedAt  unix milliseconds of the last change
//       epoch      the source epoch the rv belongs to (absent: unknown; see below)
//   kubesync:<id>:stats  hash: objectsSynchronized (counter), lastSyncTime (unix ms)
//
// <id> is the LiveSynchronization "<namespace>.<name>"; the core group is "" and
// cluster-scoped objects have namespace "" ("kubesync:ns.ls:obj:/namespaces//team-a").
//
// How the synchronizer uses it, per message (the destination write sits between a
// read-only check and a compare-and-set commit, so a crash never leaves a record that
// claims a write that did not happen):
//   1. ShouldApply(rv, hash): kStale -> ack, nothing to do (an older or repeated event);
//                             kUnchanged -> Commit (moves rv forward), ack, no write;
//                             kNewer -> go on.
//   2. Write the object to the destination (create/update), or delete it.
//   3. Commit(rv, uid, hash) / RecordDeleted(rv) after the write succeeded. kStale here
//      means a newer version was committed meanwhile by another replica; since the
//      partitioning keeps one object on one consumer this is rare, and the next event or
//      resync converges the destination.
//   4. Ack the NATS message.
// AdvanceIfNewer does 1 and 3 in one step *before* the write; use it only where losing
// the write after a crash is acceptable (it is not for the synchronizer: a redelivered
// message would then be Stale and never written).
//
// Source epochs (issue 10 item 4): resourceVersions only order events of one source
// cluster. A source rebuilt or restored (new etcd, another server, another Secret) starts
// them again, so each writer passes the epoch of the source the event came from
// (SourceIdentityStore below hands them out; 0 = unknown, compared as today). A record of
// an older epoch is never compared by resourceVersion: the event is applied as if the
// record were absent (a live copy still counts as one). An event of an older epoch than
// the record is stale (it was still in flight when the source changed).
//
// Every method is thread-safe (RedisClient is). Errors: kUnavailable when Redis is
// unreachable (retry the message later), kInvalidArgument for a bad id or key.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/state/redis_client.h"

namespace kubesync::state {

enum class CasResult {
  kNewer,      // rv is newer than the record and the content differs: write (it was recorded
               // by Commit/AdvanceIfNewer/RecordDeleted)
  kStale,      // rv <= the recorded rv: an older or repeated event; do nothing
  kUnchanged,  // rv is newer but the content hash is the same (or already deleted): no write
};
std::string_view CasResultName(CasResult result);

// ShouldApply's answer plus whether a live record exists (one that is not a tombstone):
// without one the destination is not expected to hold a copy, so a writer may try a create
// first and fall back to read + update only on AlreadyExists.
struct CheckResult {
  CasResult cas = CasResult::kNewer;
  bool live_copy = true;
};

struct ObjectRecord {
  std::string object_key;  // "group/resource/namespace/name"
  uint64_t rv = 0;
  std::string uid;
  std::string hash;
  bool deleted = false;
  int64_t updated_at_unix_ms = 0;
  uint64_t source_epoch = 0;  // 0: recorded without one
};

struct SyncStats {
  int64_t objects_synchronized = 0;
  int64_t last_sync_unix_ms = 0;  // 0: never
};

class ObjectStateStore {
 public:
  // `redis` and `clock` must outlive the store.
  explicit ObjectStateStore(RedisClient* redis, const Clock* clock = &SystemClock::Get());

  // "kubesync:<id>:obj:<object_key>"; InvalidArgument for an id with glob or separator
  // characters, or an object key that is not "group/resource/namespace/name".
  static Result<std::string> RecordKey(std::string_view id, std::string_view object_key);

  // Read-only: would (rv, hash) be applied?
  Result<CasResult> ShouldApply(std::string_view id, std::string_view object_key, uint64_t rv,
                                std::string_view hash, uint64_t epoch = 0);
  // ShouldApply, also telling whether a live record exists (same round trip).
  Result<CheckResult> Check(std::string_view id, std::string_view object_key, uint64_t rv,
                            std::string_view hash, uint64_t epoch = 0);
  // Commit (or, `deleted`, RecordDeleted) and RecordSynced(`synced`, skipped when 0) in one
  // round trip. Not retried on a broken connection (the counter is not idempotent).
  Result<CasResult> CommitCounted(std::string_view id, std::string_view object_key, uint64_t rv,
                                  std::string_view uid, std::string_view hash, bool deleted, int64_t synced,
                                  uint64_t epoch = 0);
  // Compare-and-set after a successful destination write; never moves rv backwards.
  Result<CasResult> Commit(std::string_view id, std::string_view object_key, uint64_t rv,
                           std::string_view uid, std::string_view hash, uint64_t epoch = 0);
  // Check and record in one step (see the header comment for when not to use it).
  Result<CasResult> AdvanceIfNewer(std::string_view id, std::string_view object_key, uint64_t rv,
                                   std::string_view uid, std::string_view hash, uint64_t epoch = 0);
  // Tombstone: marks the object deleted at `rv`; older events stay refused (kStale), a
  // re-creation with a newer rv is kNewer again. kUnchanged when already deleted.
  Result<CasResult> RecordDeleted(std::string_view id, std::string_view object_key, uint64_t rv,
                                  uint64_t epoch = 0);

  Result<std::optional<ObjectRecord>> Get(std::string_view id, std::string_view object_key);
  // Calls `fn` for every record of `id` (SCAN with MATCH, batches of `batch`); stops early
  // when `fn` returns false. A record may be reported twice (SCAN's guarantee is "at least
  // once" for keys present throughout).
  Status Scan(std::string_view id, const std::function<bool(const ObjectRecord&)>& fn, int batch = 500);
  // Removes every record and the stats of `id`; returns how many records went.
  Result<int64_t> DeleteAll(std::string_view id);

  // Metrics counters.
  Status RecordSynced(std::string_view id, int64_t objects);
  Result<SyncStats> GetStats(std::string_view id);

 private:
  Result<CasResult> RunCas(std::string_view mode, std::string_view id, std::string_view object_key,
                           uint64_t rv, std::string_view uid, std::string_view hash, uint64_t epoch,
                           RedisClient::Retry retry);
  std::vector<std::string> CasArgs(std::string_view mode, uint64_t rv, std::string_view uid,
                                   std::string_view hash, uint64_t epoch) const;
  static Result<CheckResult> ParseCas(const RedisReply& reply);
  RedisClient* redis_;
  const Clock* clock_;
};

}  // namespace kubesync::state
