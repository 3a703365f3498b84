#include "kubesync/state/pass_summary.h"

#include <charconv>
#include <map>
#include <utility>
#include <vector>

namespace kubesync::state {
namespace {

Result<int64_t> Number(const std::map<std::string, std::string>& fields, const std::string& name) {
  auto it = fields.find(name);
  if (it == fields.end()) return int64_t{0};
  int64_t value = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InternalError("reconciler pass summary: field " + name + " is not a number: \"" + text + "\"");
  }
  return value;
}

}  // namespace

Result<std::string> PassSummaryKey(std::string_view id) {
  if (id.empty()) return InvalidArgumentError("state: live synchronization id is empty");
  for (const char c : id) {
    // As for the object records: glob characters would widen a SCAN, ':' blur the layout.
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == ':' ||
        static_cast<unsigned char>(c) <= ' ') {
      return InvalidArgumentError("state: live synchronization id \"" + std::string(id) +
                                  "\" contains a character that is not allowed");
    }
  }
  return "kubesync:" + std::string(id) + ":reconciler";
}

Status WritePassSummary(RedisClient& redis, std::string_view id, const PassSummary& s) {
  KS_ASSIGN_OR_RETURN(std::string key, PassSummaryKey(id));
  std::vector<std::string> argv = {"HSET",
                                   key,
                                   "finishedAt",
                                   std::to_string(s.finished_at_unix_ms),
                                   "durationMs",
                                   std::to_string(s.duration_ms),
                                   "missing",
                                   std::to_string(s.missing),
                                   "stale",
                                   std::to_string(s.stale),
                                   "extra",
                                   std::to_string(s.extra),
                                   "written",
                                   std::to_string(s.written),
                                   "deleted",
                                   std::to_string(s.deleted),
                                   "failedResources",
                                   std::to_string(s.failed_resources),
                                   "guardTripped",
                                   s.guard_tripped ? "1" : "0",
                                   "dryRun",
                                   s.dry_run ? "1" : "0"};
  // Repeating the same HSET is harmless.
  return redis.Command(argv, RedisClient::Retry::kOnce).status();
}

Result<std::optional<PassSummary>> ReadPassSummary(RedisClient& redis, std::string_view id) {
  KS_ASSIGN_OR_RETURN(std::string key, PassSummaryKey(id));
  KS_ASSIGN_OR_RETURN(RedisReply reply, redis.Command({"HGETALL", key}, RedisClient::Retry::kOnce));
  if (reply.elements.empty()) return std::optional<PassSummary>();
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    fields[reply.elements[i].str] = reply.elements[i + 1].str;
  }
  PassSummary s;
  KS_ASSIGN_OR_RETURN(s.finished_at_unix_ms, Number(fields, "finishedAt"));
  KS_ASSIGN_OR_RETURN(s.duration_ms, Number(fields, "durationMs"));
  KS_ASSIGN_OR_RETURN(s.missing, Number(fields, "missing"));
  KS_ASSIGN_OR_RETURN(s.stale, Number(fields, "stale"));
  KS_ASSIGN_OR_RETURN(s.extra, Number(fields, "extra"));
  KS_ASSIGN_OR_RETURN(s.written, Number(fields, "written"));
  KS_ASSIGN_OR_RETURN(s.deleted, Number(fields, "deleted"));
  KS_ASSIGN_OR_RETURN(s.failed_resources, Number(fields, "failedResources"));
  s.guard_tripped = fields["guardTripped"] == "1";
  s.dry_run = fields["dryRun"] == "1";
  return std::optional<PassSummary>(s);
}

}  // namespace kubesync::state
