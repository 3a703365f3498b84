#include "kubesync/state/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <charconv>
#include <mutex>
#include <string>

#include "redis_conn.h"

namespace kubesync::state {
namespace {

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

// The URL as it may be shown: a password in it becomes "<redacted>".
std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::string_view userinfo = url.substr(start, at - start);
  const size_t colon = userinfo.find(':');
  const std::string user(colon == std::string_view::npos ? std::string_view() : userinfo.substr(0, colon));
  return std::string(url.substr(0, start)) + user + ":<redacted>" + std::string(url.substr(at));
}

}  // namespace

RedisScript::RedisScript(std::string src) : source(std::move(src)), sha1(HexSha1(source)) {}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kTlsScheme = "rediss://";
  RedisEndpoint ep;
  std::string_view rest;
  if (url.substr(0, kScheme.size()) == kScheme) {
    rest = url.substr(kScheme.size());
  } else if (url.substr(0, kTlsScheme.size()) == kTlsScheme) {
    rest = url.substr(kTlsScheme.size());
    ep.tls = true;
  } else {
    return InvalidArgumentError("redis url \"" + RedactUrl(url) +
                                "\": want redis://host:port/db or rediss://");
  }
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
      return InvalidArgumentError("redis url \"" + RedactUrl(url) + "\": database \"" + std::string(db) +
                                  "\" is not a number");
    }
  }
  if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = hostport.substr(colon + 1);
    if (!ParseInt(port, &ep.port) || ep.port <= 0 || ep.port > 65535) {
      return InvalidArgumentError("redis url \"" + RedactUrl(url) + "\": bad port \"" + std::string(port) +
                                  "\"");
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) {
    return InvalidArgumentError("redis url \"" + RedactUrl(url) + "\": host is required");
  }
  ep.host = std::string(hostport);
  return ep;
}

struct RedisClient::Slot {
  std::mutex mu;
  std::unique_ptr<internal::RedisConn> conn;

  void Drop() { conn.reset(); }
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
  if (!options.password.empty()) {
    ep.password = options.password;
    ep.username = options.username;
  } else if (!options.username.empty()) {
    ep.username = options.username;
  }
  std::shared_ptr<void> tls;
  if (ep.tls) {
    KS_ASSIGN_OR_RETURN(tls, internal::TlsContext::Create(options.ca_file));
  } else if (!options.ca_file.empty()) {
    return InvalidArgumentError("redis url " + RedactUrl(options.url) +
                                ": a CA file is given but the URL is not rediss:// (TLS)");
  }
  std::unique_ptr<RedisClient> client(new RedisClient(std::move(options), std::move(ep)));
  client->tls_ = std::move(tls);
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

void FreeAll(std::vector<redisReply*>& replies) {
  for (redisReply* r : replies) freeReplyObject(r);
  replies.clear();
}

Result<std::unique_ptr<internal::RedisConn>> Open(const RedisEndpoint& ep, const RedisOptions& o,
                                                  const std::shared_ptr<void>& tls) {
  const std::string where =
      std::string(ep.tls ? "rediss " : "redis ") + ep.host + ":" + std::to_string(ep.port);
  KS_ASSIGN_OR_RETURN(std::unique_ptr<internal::RedisConn> conn,
                      internal::RedisConn::Open(ep.host, ep.port, o.connect_timeout, o.command_timeout,
                                                std::static_pointer_cast<internal::TlsContext>(tls), where));
  std::vector<std::vector<std::string>> setup;
  if (!ep.password.empty()) {
    setup.push_back(ep.username.empty() ? std::vector<std::string>{"AUTH", ep.password}
                                        : std::vector<std::string>{"AUTH", ep.username, ep.password});
  }
  if (ep.db != 0) {
    setup.push_back({"SELECT", std::to_string(ep.db)});
  }
  if (setup.empty()) return conn;
  std::vector<redisReply*> replies;
  if (Status st = conn->RoundTrip(setup, replies); !st.ok()) {
    FreeAll(replies);
    return st;
  }
  for (size_t i = 0; i < setup.size(); ++i) {
    const redisReply* reply = replies[i];
    if (reply->type != REDIS_REPLY_ERROR) continue;
    // Never echo the password; name the server, the command and the user only.
    const std::string text(reply->str, reply->len);
    Status st = setup[i][0] == "AUTH"
                    ? UnauthenticatedError(where + ": AUTH failed" +
                                           (ep.username.empty() ? "" : " for user \"" + ep.username + "\"") +
                                           ": " + text)
                    : InvalidArgumentError(where + ": SELECT failed: " + text);
    FreeAll(replies);
    return st;
  }
  FreeAll(replies);
  return conn;
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
    const bool reused = slot.conn != nullptr;
    if (slot.conn == nullptr) {
      auto conn = Open(endpoint_, options_, tls_);
      if (!conn.ok()) {
        return conn.status();
      }
      slot.conn = std::move(*conn);
    }
    std::vector<redisReply*> raw;
    Status sent = slot.conn->RoundTrip(commands, raw);
    if (!sent.ok()) {
      FreeAll(raw);
      last = sent;
      slot.Drop();
      if (!reused) {
        break;
      }
      continue;
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    Status error_reply;
    for (redisReply* reply : raw) {
      if (reply->type == REDIS_REPLY_ERROR && error_reply.ok()) {
        error_reply = InternalError("redis: " + std::string(reply->str, reply->len));
      }
      replies.push_back(Copy(reply));
    }
    FreeAll(raw);
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
