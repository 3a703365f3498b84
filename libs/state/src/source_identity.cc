#include "kubesync/state/source_identity.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

#include "keys.h"

namespace kubesync::state {
namespace {

// KEYS[1] the source hash; ARGV: uid, server, known_epoch, now_ms.
// Replies {state, epoch, previous uid, previous server, previous epoch}; state is "same",
// "new" (nothing stored) or "changed". Epochs are decimal strings compared by length then
// lexicographically (exact for uint64, where Lua numbers stop at 2^53); "+1" is done on
// the string so it stays exact too.
const RedisScript& ObserveScript() {
  static const RedisScript script(R"lua(
local function lt(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function inc(s)
  local digits, i, carry = {}, #s, 1
  for k = 1, #s do digits[k] = s:sub(k, k) end
  while carry == 1 and i >= 1 do
    local d = tonumber(digits[i]) + 1
    if d == 10 then digits[i] = '0' else digits[i] = tostring(d); carry = 0 end
    i = i - 1
  end
  local out = table.concat(digits)
  if carry == 1 then out = '1' .. out end
  return out
end
local uid, server, known, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('HMGET', KEYS[1], 'uid', 'server', 'epoch')
if not cur[3] then
  local epoch = known
  if epoch == '0' then epoch = now end
  redis.call('HSET', KEYS[1], 'uid', uid, 'server', server, 'epoch', epoch, 'since', now)
  return {'new', epoch, '', '', '0'}
end
if cur[1] == uid and cur[2] == server then
  return {'same', cur[3], '', '', '0'}
end
local epoch = now
if not lt(cur[3], epoch) then epoch = inc(cur[3]) end
if lt(epoch, known) or epoch == known then epoch = inc(known) end
redis.call('HSET', KEYS[1], 'uid', uid, 'server', server, 'epoch', epoch, 'since', now)
return {'changed', epoch, cur[1] or '', cur[2] or '', cur[3]}
)lua");
  return script;
}

// KEYS[1] the list, KEYS[2] the sequence; ARGV: note JSON without seq (an object whose
// text starts with '{'), the maximum length.
const RedisScript& AddNoteScript() {
  static const RedisScript script(R"lua(
local seq = redis.call('INCR', KEYS[2])
local body = ARGV[1]
local note = '{"seq":' .. seq
if #body > 2 then note = note .. ',' .. body:sub(2) else note = note .. '}' end
redis.call('RPUSH', KEYS[1], note)
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return seq
)lua");
  return script;
}

// KEYS[1] the list; ARGV[1] the last acknowledged seq. Pops from the head while the head's
// seq is <= it (notes are appended in seq order).
const RedisScript& AckScript() {
  static const RedisScript script(R"lua(
local up_to = tonumber(ARGV[1])
local n = 0
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local seq = tonumber(string.match(head, '"seq":(%d+)'))
  if seq == nil or seq > up_to then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
)lua");
  return script;
}

Result<uint64_t> ParseEpoch(const std::string& text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status(Code::kDataLoss, "state: source epoch \"" + text + "\" is not a number");
  }
  return value;
}

}  // namespace

std::string SourceIdentity::ToString() const { return server + " (kube-system uid " + uid + ")"; }

SourceIdentityStore::SourceIdentityStore(RedisClient* redis, const Clock* clock)
    : redis_(redis), clock_(clock) {}

Result<IdentityObservation> SourceIdentityStore::Observe(std::string_view id, const SourceIdentity& identity,
                                                         uint64_t known_epoch) {
  KS_RETURN_IF_ERROR(CheckId(id));
  if (identity.uid.empty() || identity.server.empty()) {
    return InvalidArgumentError("state: a source identity needs the kube-system uid and the server address");
  }
  // Repeating an observation converges to the same record, so a lost reply may be retried.
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Eval(ObserveScript(), {IdKey(id, "source")},
                                   {identity.uid, identity.server, std::to_string(known_epoch),
                                    std::to_string(NowMs(clock_))},
                                   RedisClient::Retry::kOnce));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 5) {
    return InternalError("state: unexpected reply to the source identity script");
  }
  IdentityObservation out;
  KS_ASSIGN_OR_RETURN(out.epoch, ParseEpoch(reply.elements[1].str));
  out.changed = reply.elements[0].str == "changed";
  if (out.changed) {
    out.previous = SourceIdentity{reply.elements[2].str, reply.elements[3].str};
    KS_ASSIGN_OR_RETURN(out.previous_epoch, ParseEpoch(reply.elements[4].str));
  }
  return out;
}

Result<std::pair<SourceIdentity, uint64_t>> SourceIdentityStore::Current(std::string_view id) {
  KS_RETURN_IF_ERROR(CheckId(id));
  KS_ASSIGN_OR_RETURN(
      RedisReply reply,
      redis_->Command({"HMGET", IdKey(id, "source"), "uid", "server", "epoch"}, RedisClient::Retry::kOnce));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 3) {
    return InternalError("state: unexpected HMGET reply");
  }
  std::pair<SourceIdentity, uint64_t> out;
  if (reply.elements[2].type == RedisReply::Type::kNil) return out;
  out.first = SourceIdentity{reply.elements[0].str, reply.elements[1].str};
  KS_ASSIGN_OR_RETURN(out.second, ParseEpoch(reply.elements[2].str));
  return out;
}

Result<int64_t> SourceIdentityStore::AddNote(std::string_view id, Note note) {
  KS_RETURN_IF_ERROR(CheckId(id));
  note.at_unix_ms = NowMs(clock_);
  const nlohmann::json body = {{"type", note.type},
                               {"reason", note.reason},
                               {"message", note.message},
                               {"component", note.component},
                               {"at", note.at_unix_ms}};
  // Not retried: a repeated append would leave the note twice.
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Eval(AddNoteScript(), {IdKey(id, "notes"), IdKey(id, "notes:seq")},
                                   {body.dump(), std::to_string(kMaxNotes)}, RedisClient::Retry::kNo));
  return reply.integer;
}

Result<std::vector<Note>> SourceIdentityStore::Notes(std::string_view id) {
  KS_RETURN_IF_ERROR(CheckId(id));
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Command({"LRANGE", IdKey(id, "notes"), "0", "-1"}, RedisClient::Retry::kOnce));
  std::vector<Note> out;
  for (const RedisReply& element : reply.elements) {
    const nlohmann::json j = nlohmann::json::parse(element.str, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) {
      return Status(Code::kDataLoss,
                    "state: note \"" + element.str.substr(0, 80) + "\" is not a kubesync note");
    }
    Note note;
    note.seq = j["seq"].get<int64_t>();
    note.type = j.value("type", "");
    note.reason = j.value("reason", "");
    note.message = j.value("message", "");
    note.component = j.value("component", "");
    note.at_unix_ms = j.value("at", int64_t{0});
    out.push_back(std::move(note));
  }
  return out;
}

Status SourceIdentityStore::AckNotes(std::string_view id, int64_t up_to_seq) {
  KS_RETURN_IF_ERROR(CheckId(id));
  return redis_
      ->Eval(AckScript(), {IdKey(id, "notes")}, {std::to_string(up_to_seq)}, RedisClient::Retry::kOnce)
      .status();
}

}  // namespace kubesync::state
