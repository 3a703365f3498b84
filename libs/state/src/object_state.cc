#include "kubesync/state/object_state.h"

#include <charconv>
#include <chrono>
#include <string>
#include <vector>

#include "keys.h"

namespace kubesync::state {
namespace {

// One script for every mode, so check and set are one atomic step on the server.
// KEYS[1] record; ARGV: mode ("check" | "commit" | "delete"), rv, uid, hash, now_ms.
// "check" answers "absent" for a newer event of an object with no live record (none, or a
// tombstone), which callers read as kNewer without a live copy.
// resourceVersions are compared as canonical decimal strings (shorter is smaller, then
// lexicographic): exact for all of uint64, where Lua numbers (doubles) stop at 2^53.
// ARGV[6] is the source epoch ("0": unknown, compare as if the same). A record of another
// epoch is never compared by resourceVersion: an older epoch's record is overwritten as if
// absent (but a live copy still counts as one), an event of an older epoch is stale.
const RedisScript& CasScript() {
  static const RedisScript script(R"lua(
local function le(a, b)
  if #a ~= #b then return #a < #b end
  return a <= b
end
local mode, rv, uid, hash, now, epoch = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- A record this script did not write (another type of key, an rv that is not a uint64 in
-- decimal) would make every event stale, or fail, forever: it is read as no record, and a
-- commit replaces it.
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'hash' and kind ~= 'none' then
  if mode == 'check' then return 'absent' end
  redis.call('DEL', KEYS[1])
end
local cur = redis.call('HMGET', KEYS[1], 'rv', 'hash', 'deleted', 'epoch')
local stored_rv, stored_hash, stored_deleted = cur[1], cur[2], cur[3]
local stored_epoch = cur[4] or '0'
if stored_rv and (#stored_rv > 20 or not string.match(stored_rv, '^[0-9]+$')) then
  if mode ~= 'check' then redis.call('DEL', KEYS[1]) end
  stored_rv, stored_hash, stored_deleted = false, false, false
end
if stored_rv and epoch ~= '0' and epoch ~= stored_epoch then
  -- Recorded from another source cluster: its resourceVersions are not comparable.
  if le(epoch, stored_epoch) then return 'stale' end
  if mode == 'check' then
    if stored_deleted == '1' then return 'absent' end
    return 'newer'
  end
  stored_rv, stored_hash = false, false
end
if stored_rv and le(rv, stored_rv) then return 'stale' end
local unchanged
if mode == 'delete' then
  unchanged = (stored_deleted == '1')
else
  unchanged = (stored_rv ~= false and stored_deleted ~= '1' and stored_hash == hash)
end
if mode == 'check' then
  if unchanged then return 'unchanged' end
  if stored_rv == false or stored_deleted == '1' then return 'absent' end
  return 'newer'
end
if epoch ~= '0' then redis.call('HSET', KEYS[1], 'epoch', epoch) end
if mode == 'delete' then
  redis.call('HSET', KEYS[1], 'rv', rv, 'hash', '', 'deleted', '1', 'updatedAt', now)
elseif unchanged then
  redis.call('HSET', KEYS[1], 'rv', rv, 'uid', uid, 'updatedAt', now)
else
  redis.call('HSET', KEYS[1], 'rv', rv, 'uid', uid, 'hash', hash, 'deleted', '0', 'updatedAt', now)
end
if unchanged then return 'unchanged' end
return 'newer'
)lua");
  return script;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseI64(std::string_view s, int64_t* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// HGETALL reply -> record; DataLoss when a field does not parse (someone else wrote it).
Result<ObjectRecord> ToRecord(std::string object_key, const RedisReply& reply) {
  ObjectRecord rec;
  rec.object_key = std::move(object_key);
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& field = reply.elements[i].str;
    const std::string& value = reply.elements[i + 1].str;
    bool ok = true;
    if (field == "rv") {
      ok = ParseU64(value, &rec.rv);
    } else if (field == "uid") {
      rec.uid = value;
    } else if (field == "hash") {
      rec.hash = value;
    } else if (field == "deleted") {
      rec.deleted = value == "1";
    } else if (field == "updatedAt") {
      ok = ParseI64(value, &rec.updated_at_unix_ms);
    } else if (field == "epoch") {
      ok = ParseU64(value, &rec.source_epoch);
    }
    if (!ok) {
      return Status(Code::kDataLoss, "state: record " + rec.object_key + " field " + field + " is \"" +
                                         value + "\", not a number");
    }
  }
  return rec;
}

std::string ObjPrefix(std::string_view id) { return std::string(kPrefix) + std::string(id) + ":obj:"; }
std::string StatsKey(std::string_view id) { return std::string(kPrefix) + std::string(id) + ":stats"; }

// Walks every key of `pattern` with SCAN (never KEYS: it blocks the server).
Status ScanKeys(RedisClient* redis, const std::string& pattern, int batch,
                const std::function<Status(std::vector<std::string>&)>& on_keys) {
  std::string cursor = "0";
  do {
    KS_ASSIGN_OR_RETURN(RedisReply reply,
                        redis->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", std::to_string(batch)},
                                       RedisClient::Retry::kOnce));
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
      return InternalError("state: unexpected SCAN reply");
    }
    cursor = reply.elements[0].str;
    std::vector<std::string> keys;
    keys.reserve(reply.elements[1].elements.size());
    for (auto& k : reply.elements[1].elements) {
      keys.push_back(std::move(k.str));
    }
    if (!keys.empty()) {
      KS_RETURN_IF_ERROR(on_keys(keys));
    }
  } while (cursor != "0");
  return OkStatus();
}

// Signals an early stop out of ScanKeys without being an error to the caller.
constexpr std::string_view kStopMarker = "state: scan stopped by caller";

}  // namespace

std::string_view CasResultName(CasResult result) {
  switch (result) {
    case CasResult::kNewer:
      return "newer";
    case CasResult::kStale:
      return "stale";
    case CasResult::kUnchanged:
      return "unchanged";
  }
  return "unknown";
}

ObjectStateStore::ObjectStateStore(RedisClient* redis, const Clock* clock) : redis_(redis), clock_(clock) {}

Result<std::string> ObjectStateStore::RecordKey(std::string_view id, std::string_view object_key) {
  KS_RETURN_IF_ERROR(CheckId(id));
  int slashes = 0;
  for (const char c : object_key) {
    slashes += c == '/' ? 1 : 0;
  }
  const size_t last = object_key.rfind('/');
  if (slashes != 3 || last == std::string_view::npos || last + 1 == object_key.size()) {
    return InvalidArgumentError("state: object key \"" + std::string(object_key) +
                                "\" is not group/resource/namespace/name");
  }
  return ObjPrefix(id) + std::string(object_key);
}

std::vector<std::string> ObjectStateStore::CasArgs(std::string_view mode, uint64_t rv, std::string_view uid,
                                                   std::string_view hash, uint64_t epoch) const {
  return {std::string(mode),
          std::to_string(rv),
          std::string(uid),
          std::string(hash),
          std::to_string(NowMs(clock_)),
          std::to_string(epoch)};
}

Result<CheckResult> ObjectStateStore::ParseCas(const RedisReply& reply) {
  if (reply.str == "newer") return CheckResult{CasResult::kNewer, true};
  if (reply.str == "absent") return CheckResult{CasResult::kNewer, false};
  if (reply.str == "stale") return CheckResult{CasResult::kStale, true};
  if (reply.str == "unchanged") return CheckResult{CasResult::kUnchanged, true};
  return InternalError("state: unexpected compare-and-set reply \"" + reply.str + "\"");
}

Result<CasResult> ObjectStateStore::RunCas(std::string_view mode, std::string_view id,
                                           std::string_view object_key, uint64_t rv, std::string_view uid,
                                           std::string_view hash, uint64_t epoch, RedisClient::Retry retry) {
  KS_ASSIGN_OR_RETURN(const std::string key, RecordKey(id, object_key));
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Eval(CasScript(), {key}, CasArgs(mode, rv, uid, hash, epoch), retry));
  KS_ASSIGN_OR_RETURN(CheckResult result, ParseCas(reply));
  return result.cas;
}

Result<CheckResult> ObjectStateStore::Check(std::string_view id, std::string_view object_key, uint64_t rv,
                                            std::string_view hash, uint64_t epoch) {
  KS_ASSIGN_OR_RETURN(const std::string key, RecordKey(id, object_key));
  KS_ASSIGN_OR_RETURN(
      RedisReply reply,
      redis_->Eval(CasScript(), {key}, CasArgs("check", rv, "", hash, epoch), RedisClient::Retry::kOnce));
  return ParseCas(reply);
}

Result<CasResult> ObjectStateStore::CommitCounted(std::string_view id, std::string_view object_key,
                                                  uint64_t rv, std::string_view uid, std::string_view hash,
                                                  bool deleted, int64_t synced, uint64_t epoch) {
  KS_ASSIGN_OR_RETURN(const std::string key, RecordKey(id, object_key));
  // EVAL (not EVALSHA) inside the pipeline: no NOSCRIPT fallback is needed, and the server
  // caches the script by its digest anyway.
  std::vector<std::string> eval{"EVAL", CasScript().source, "1", key};
  for (std::string& a : CasArgs(deleted ? "delete" : "commit", rv, uid, hash, epoch))
    eval.push_back(std::move(a));
  std::vector<std::vector<std::string>> commands{std::move(eval)};
  if (synced > 0) {
    const std::string stats = StatsKey(id);
    commands.push_back({"HINCRBY", stats, "objectsSynchronized", std::to_string(synced)});
    commands.push_back({"HSET", stats, "lastSyncTime", std::to_string(NowMs(clock_))});
  }
  // Not retried on a broken connection: the counter increment is not idempotent. A failed
  // call leaves the message unacked; its redelivery finds the record (kStale) or commits.
  KS_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, redis_->Pipeline(commands, RedisClient::Retry::kNo));
  KS_ASSIGN_OR_RETURN(CheckResult result, ParseCas(replies.front()));
  return result.cas;
}

Result<CasResult> ObjectStateStore::ShouldApply(std::string_view id, std::string_view object_key, uint64_t rv,
                                                std::string_view hash, uint64_t epoch) {
  return RunCas("check", id, object_key, rv, "", hash, epoch, RedisClient::Retry::kOnce);
}

Result<CasResult> ObjectStateStore::Commit(std::string_view id, std::string_view object_key, uint64_t rv,
                                           std::string_view uid, std::string_view hash, uint64_t epoch) {
  // Repeating a commit converges to the same record, so a lost reply may be retried.
  return RunCas("commit", id, object_key, rv, uid, hash, epoch, RedisClient::Retry::kOnce);
}

Result<CasResult> ObjectStateStore::AdvanceIfNewer(std::string_view id, std::string_view object_key,
                                                   uint64_t rv, std::string_view uid, std::string_view hash,
                                                   uint64_t epoch) {
  // No retry: if the first attempt applied and only the reply was lost, a retry would say
  // kStale and the caller would skip the write it still has to do.
  return RunCas("commit", id, object_key, rv, uid, hash, epoch, RedisClient::Retry::kNo);
}

Result<CasResult> ObjectStateStore::RecordDeleted(std::string_view id, std::string_view object_key,
                                                  uint64_t rv, uint64_t epoch) {
  return RunCas("delete", id, object_key, rv, "", "", epoch, RedisClient::Retry::kOnce);
}

Result<std::optional<ObjectRecord>> ObjectStateStore::Get(std::string_view id, std::string_view object_key) {
  KS_ASSIGN_OR_RETURN(const std::string key, RecordKey(id, object_key));
  KS_ASSIGN_OR_RETURN(RedisReply reply, redis_->Command({"HGETALL", key}, RedisClient::Retry::kOnce));
  if (reply.elements.empty()) {
    return std::optional<ObjectRecord>();
  }
  KS_ASSIGN_OR_RETURN(ObjectRecord rec, ToRecord(std::string(object_key), reply));
  return std::optional<ObjectRecord>(std::move(rec));
}

Status ObjectStateStore::Scan(std::string_view id, const std::function<bool(const ObjectRecord&)>& fn,
                              int batch) {
  KS_RETURN_IF_ERROR(CheckId(id));
  const std::string prefix = ObjPrefix(id);
  Status st = ScanKeys(redis_, prefix + "*", batch, [&](std::vector<std::string>& keys) -> Status {
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(keys.size());
    for (const auto& k : keys) {
      cmds.push_back({"HGETALL", k});
    }
    KS_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, redis_->Pipeline(cmds, RedisClient::Retry::kOnce));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (replies[i].elements.empty()) {
        continue;  // deleted between SCAN and HGETALL
      }
      KS_ASSIGN_OR_RETURN(ObjectRecord rec, ToRecord(keys[i].substr(prefix.size()), replies[i]));
      if (!fn(rec)) {
        return CancelledError(std::string(kStopMarker));
      }
    }
    return OkStatus();
  });
  if (st.code() == Code::kCancelled && st.message() == kStopMarker) {
    return OkStatus();
  }
  return st;
}

Result<int64_t> ObjectStateStore::DeleteAll(std::string_view id) {
  KS_RETURN_IF_ERROR(CheckId(id));
  int64_t removed = 0;
  KS_RETURN_IF_ERROR(
      ScanKeys(redis_, ObjPrefix(id) + "*", 1000, [&](std::vector<std::string>& keys) -> Status {
        std::vector<std::string> argv{"UNLINK"};
        argv.insert(argv.end(), keys.begin(), keys.end());
        KS_ASSIGN_OR_RETURN(RedisReply reply, redis_->Command(argv, RedisClient::Retry::kOnce));
        removed += reply.integer;
        return OkStatus();
      }));
  KS_RETURN_IF_ERROR(redis_->Command({"UNLINK", StatsKey(id)}, RedisClient::Retry::kOnce).status());
  return removed;
}

Status ObjectStateStore::RecordSynced(std::string_view id, int64_t objects) {
  KS_RETURN_IF_ERROR(CheckId(id));
  const std::string key = StatsKey(id);
  // Not retried: a counter increment is not idempotent.
  return redis_
      ->Pipeline({{"HINCRBY", key, "objectsSynchronized", std::to_string(objects)},
                  {"HSET", key, "lastSyncTime", std::to_string(NowMs(clock_))}})
      .status();
}

Result<SyncStats> ObjectStateStore::GetStats(std::string_view id) {
  KS_RETURN_IF_ERROR(CheckId(id));
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Command({"HGETALL", StatsKey(id)}, RedisClient::Retry::kOnce));
  SyncStats stats;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& field = reply.elements[i].str;
    const std::string& value = reply.elements[i + 1].str;
    if (field == "objectsSynchronized") {
      ParseI64(value, &stats.objects_synchronized);
    } else if (field == "lastSyncTime") {
      ParseI64(value, &stats.last_sync_unix_ms);
    }
  }
  return stats;
}

}  // namespace kubesync::state
