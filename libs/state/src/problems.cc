#include "kubesync/state/problems.h"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "kubesync/state/object_state.h"

namespace kubesync::state {
namespace {

using nlohmann::json;

// resourceVersions compare as canonical decimal strings (as in the object records' script):
// exact for all of uint64, where Lua numbers stop at 2^53.
constexpr char kLessEqual[] = R"lua(
local function le(a, b)
  if #a ~= #b then return #a < #b end
  return a <= b
end
local function stored_rv(value)
  if not value then return nil end
  local ok, entry = pcall(cjson.decode, value)
  if ok and type(entry) == 'table' and type(entry.resourceVersion) == 'string' then
    return entry.resourceVersion
  end
  return nil
end
)lua";

// KEYS[1] hash; ARGV: field, rv, entry. An entry for a newer version stays.
const RedisScript& ReportScript() {
  static const RedisScript script(std::string(kLessEqual) + R"lua(
local have = stored_rv(redis.call('HGET', KEYS[1], ARGV[1]))
if have and not le(have, ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
)lua");
  return script;
}

// KEYS[1] hash; ARGV: field, rv. Removes an entry for a version <= rv (or unreadable).
const RedisScript& ResolveScript() {
  static const RedisScript script(std::string(kLessEqual) + R"lua(
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
local have = stored_rv(value)
if have and not le(have, ARGV[2]) then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
)lua");
  return script;
}

Result<Problem> Parse(std::string object_key, const std::string& value) {
  json entry = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!entry.is_object()) {
    return Status(Code::kDataLoss, "state: problem entry of " + object_key + " is not a JSON object");
  }
  Problem p;
  p.object_key = std::move(object_key);
  p.uid = entry.value("uid", "");
  const std::string rv = entry.value("resourceVersion", "");
  const auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), p.rv);
  if (ec != std::errc() || end != rv.data() + rv.size()) {
    return Status(Code::kDataLoss, "state: problem entry of " + p.object_key + " has resourceVersion \"" +
                                       rv + "\", not a number");
  }
  p.reason = entry.value("reason", "");
  p.component = entry.value("component", "");
  p.message = entry.value("message", "");
  p.deliveries = entry.value("deliveries", int64_t{0});
  p.at_unix_ms = entry.value("at", int64_t{0});
  return p;
}

}  // namespace

ProblemStore::ProblemStore(RedisClient* redis, const Clock* clock) : redis_(redis), clock_(clock) {}

Result<std::string> ProblemStore::Key(std::string_view id) {
  // The object records' validation of the id (a sample key only checks the id).
  KS_RETURN_IF_ERROR(ObjectStateStore::RecordKey(id, "g/r/ns/name").status());
  return "kubesync:" + std::string(id) + ":problems";
}

Status ProblemStore::Report(std::string_view id, const Problem& problem) {
  KS_ASSIGN_OR_RETURN(const std::string key, Key(id));
  KS_RETURN_IF_ERROR(ObjectStateStore::RecordKey(id, problem.object_key).status());
  const int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch()).count();
  json entry = {{"uid", problem.uid},
                {"resourceVersion", std::to_string(problem.rv)},
                {"reason", problem.reason},
                {"component", problem.component},
                {"message", problem.message},
                {"deliveries", problem.deliveries},
                {"at", now}};
  // Invalid UTF-8 in an error message must not make the entry unwritable.
  const std::string value = entry.dump(-1, ' ', false, json::error_handler_t::replace);
  KS_ASSIGN_OR_RETURN(RedisReply reply, redis_->Eval(ReportScript(), {key},
                                                     {problem.object_key, std::to_string(problem.rv), value},
                                                     RedisClient::Retry::kOnce));
  (void)reply;
  return OkStatus();
}

Result<std::optional<Problem>> ProblemStore::Get(std::string_view id, std::string_view object_key) {
  KS_ASSIGN_OR_RETURN(const std::string key, Key(id));
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Command({"HGET", key, std::string(object_key)}, RedisClient::Retry::kOnce));
  if (reply.type == RedisReply::Type::kNil) return std::optional<Problem>();
  KS_ASSIGN_OR_RETURN(Problem p, Parse(std::string(object_key), reply.str));
  return std::optional<Problem>(std::move(p));
}

Result<bool> ProblemStore::Resolve(std::string_view id, std::string_view object_key, uint64_t rv) {
  KS_ASSIGN_OR_RETURN(const std::string key, Key(id));
  KS_ASSIGN_OR_RETURN(RedisReply reply,
                      redis_->Eval(ResolveScript(), {key}, {std::string(object_key), std::to_string(rv)},
                                   RedisClient::Retry::kOnce));
  return reply.integer > 0;
}

Result<int64_t> ProblemStore::Count(std::string_view id) {
  KS_ASSIGN_OR_RETURN(const std::string key, Key(id));
  KS_ASSIGN_OR_RETURN(RedisReply reply, redis_->Command({"HLEN", key}, RedisClient::Retry::kOnce));
  return reply.integer;
}

Result<std::vector<Problem>> ProblemStore::List(std::string_view id, size_t limit) {
  KS_ASSIGN_OR_RETURN(const std::string key, Key(id));
  std::vector<Problem> out;
  std::string cursor = "0";
  do {
    KS_ASSIGN_OR_RETURN(RedisReply reply,
                        redis_->Command({"HSCAN", key, cursor, "COUNT", "100"}, RedisClient::Retry::kOnce));
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
      return InternalError("state: unexpected HSCAN reply");
    }
    cursor = reply.elements[0].str;
    const auto& pairs = reply.elements[1].elements;
    for (size_t i = 0; i + 1 < pairs.size() && out.size() < limit; i += 2) {
      auto p = Parse(pairs[i].str, pairs[i + 1].str);
      if (p.ok()) out.push_back(std::move(*p));
    }
  } while (cursor != "0" && out.size() < limit);
  return out;
}

}  // namespace kubesync::state
