#include "kubesync/state/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sys/time.h>

#include <charconv>
#include <mutex>
#include <string>

namespace kubesync::state {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

RedisReply Copy(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(Copy(r->element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

std::string HexSha1(std::string_view data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

bool ParseInt(std::string_view s, int* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

RedisScript::RedisScript(std::string src) : source(std::move(src)), sha1(HexSha1(source)) {}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("redis url \"" + std::string(url) + "\": want redis://host:port/db");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      ep.username = std::string(userinfo.substr(0, colon));
      ep.password = std::string(userinfo.substr(colon + 1));
    } else {
      ep.password = std::string(userinfo);
    }
  }
  std::string_view hostport = rest;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!ParseInt(db, &ep.db) || ep.db < 0)) {
      return InvalidArgumentError("redis url \"" + std::string(url) + "\": database \"" + std::string(db) +
                                  "\" is not a number");
    }
  }
  if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = hostport.substr(colon + 1);
    if (!ParseInt(port, &ep.port) || ep.port <= 0 || ep.port > 65535) {
      return InvalidArgumentError("redis url \"" + std::string(url) + "\": bad port \"" + std::string(port) +
                                  "\"");
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) {
    return InvalidArgumentError("redis url \"" + std::string(url) + "\": host is required");
  }
  ep.host = std::string(hostport);
  return ep;
}

struct RedisClient::Slot {
  std::mutex mu;
  redisContext* ctx = nullptr;

  ~Slot() { Drop(); }
  void Drop() {
    if (ctx != nullptr) {
      redisFree(ctx);
      ctx = nullptr;
    }
  }
};

RedisClient::RedisClient(RedisOptions options, RedisEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {
  const int n = options_.pool_size > 0 ? options_.pool_size : 1;
  for (int i = 0; i < n; ++i) {
    slots_.push_back(std::make_unique<Slot>());
  }
}

RedisClient::~RedisClient() = default;

Result<std::unique_ptr<RedisClient>> RedisClient::Connect(RedisOptions options) {
  KS_ASSIGN_OR_RETURN(RedisEndpoint ep, ParseRedisUrl(options.url));
  std::unique_ptr<RedisClient> client(new RedisClient(std::move(options), std::move(ep)));
  KS_RETURN_IF_ERROR(client->Ping());
  return client;
}

RedisClient::Slot& RedisClient::Acquire() {
  // Prefer an idle connection; otherwise queue on one in turn.
  const size_t start = next_.fetch_add(1);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = *slots_[(start + i) % slots_.size()];
    if (s.mu.try_lock()) {
      return s;
    }
  }
  Slot& s = *slots_[start % slots_.size()];
  s.mu.lock();
  return s;
}

namespace {

Result<redisContext*> Open(const RedisEndpoint& ep, const RedisOptions& o) {
  redisContext* ctx = redisConnectWithTimeout(ep.host.c_str(), ep.port, ToTimeval(o.connect_timeout));
  const std::string where = "redis " + ep.host + ":" + std::to_string(ep.port);
  if (ctx == nullptr) {
    return UnavailableError(where + ": cannot allocate a connection");
  }
  if (ctx->err != 0) {
    Status st = UnavailableError(where + ": " + ctx->errstr);
    redisFree(ctx);
    return st;
  }
  redisSetTimeout(ctx, ToTimeval(o.command_timeout));
  std::vector<std::vector<std::string>> setup;
  if (!ep.password.empty()) {
    setup.push_back(ep.username.empty() ? std::vector<std::string>{"AUTH", ep.password}
                                        : std::vector<std::string>{"AUTH", ep.username, ep.password});
  }
  if (ep.db != 0) {
    setup.push_back({"SELECT", std::to_string(ep.db)});
  }
  for (const auto& cmd : setup) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (reply == nullptr) {
      Status st = UnavailableError(where + ": " + ctx->errstr);
      redisFree(ctx);
      return st;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      // Never echo the password; name the command only.
      Status st =
          (cmd[0] == "AUTH"
               ? UnauthenticatedError(where + ": AUTH failed: " + std::string(reply->str, reply->len))
               : InvalidArgumentError(where + ": SELECT failed: " + std::string(reply->str, reply->len)));
      freeReplyObject(reply);
      redisFree(ctx);
      return st;
    }
    freeReplyObject(reply);
  }
  return ctx;
}

}  // namespace

Result<std::vector<RedisReply>> RedisClient::Run(const std::vector<std::vector<std::string>>& commands,
                                                 Retry retry) {
  Slot& slot = Acquire();
  std::lock_guard<std::mutex> lock(slot.mu, std::adopt_lock);
  const int attempts = retry == Retry::kOnce ? 2 : 1;
  Status last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    // A connection that was open before this call may have died since (server restart):
    // only such a reused connection earns the retry; a fresh one that fails is final.
    const bool reused = slot.ctx != nullptr;
    if (slot.ctx == nullptr) {
      auto ctx = Open(endpoint_, options_);
      if (!ctx.ok()) {
        return ctx.status();
      }
      slot.ctx = *ctx;
    }
    for (const auto& cmd : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      argv.reserve(cmd.size());
      lens.reserve(cmd.size());
      for (const auto& a : cmd) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(slot.ctx, static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    Status error_reply;
    bool broken = false;
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(slot.ctx, &raw) != REDIS_OK || raw == nullptr) {
        last = UnavailableError("redis " + endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " +
                                (slot.ctx->errstr[0] != '\0' ? slot.ctx->errstr : "connection lost"));
        broken = true;
        break;
      }
      auto* reply = static_cast<redisReply*>(raw);
      if (reply->type == REDIS_REPLY_ERROR && error_reply.ok()) {
        error_reply = InternalError("redis: " + std::string(reply->str, reply->len));
      }
      replies.push_back(Copy(reply));
      freeReplyObject(reply);
    }
    if (broken) {
      slot.Drop();
      if (!reused) {
        break;
      }
      continue;
    }
    if (!error_reply.ok()) {
      return error_reply;
    }
    return replies;
  }
  return last;
}

Result<RedisReply> RedisClient::Command(const std::vector<std::string>& argv, Retry retry) {
  KS_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, Run({argv}, retry));
  return std::move(replies.front());
}

Result<std::vector<RedisReply>> RedisClient::Pipeline(const std::vector<std::vector<std::string>>& commands,
                                                      Retry retry) {
  if (commands.empty()) {
    return std::vector<RedisReply>{};
  }
  return Run(commands, retry);
}

Result<RedisReply> RedisClient::Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args, Retry retry) {
  std::vector<std::string> argv{"EVALSHA", script.sha1, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = Command(argv, retry);
  if (reply.ok() || reply.status().message().rfind("redis: NOSCRIPT", 0) != 0) {
    return reply;
  }
  // The server has not cached this script (yet): send the source once; EVAL caches it.
  argv[0] = "EVAL";
  argv[1] = script.source;
  return Command(argv, retry);
}

Status RedisClient::Ping() {
  auto reply = Command({"PING"}, Retry::kOnce);
  if (!reply.ok()) {
    return reply.status();
  }
  if (reply->type != RedisReply::Type::kStatus || reply->str != "PONG") {
    return InternalError("redis: unexpected PING reply \"" + reply->str + "\"");
  }
  return OkStatus();
}

}  // namespace kubesync::state
