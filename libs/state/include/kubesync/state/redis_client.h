// A small thread-safe Redis client (hiredis underneath): a fixed pool of connections, each
// used by one caller at a time, reconnected on demand after a failure. Replies are copied
// into plain values; errors are kubesync::Status:
//   kUnavailable      connection refused / broken / timed out (retry with backoff);
//   kInvalidArgument  a bad URL;
//   kInternal         Redis answered with an error reply ("redis: ERR ...").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::state {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username;  // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  bool tls = false;      // rediss://
};

// redis://[[user]:password@]host[:port][/db], or rediss://... for TLS. Error messages
// never repeat the password.

Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  int pool_size = 4;
  // Credentials given apart from the URL (a password file, the environment); when set they
  // replace the URL's. Never logged: errors name the server and the user only.
  std::string username;
  std::string password;
  // TLS (rediss:// URLs): the server certificate must chain to this CA file (PEM; empty:
  // the system's CAs) and name the URL's host (DNS name or IP address).
  std::string ca_file;
};

struct RedisReply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  std::string str;  // kString and kStatus
  int64_t integer = 0;
  std::vector<RedisReply> elements;
};

// A Lua script run with EVALSHA, falling back to EVAL when the server does not know it
// (NOSCRIPT: first use, or after a restart or SCRIPT FLUSH).
struct RedisScript {
  explicit RedisScript(std::string source);
  std::string source;
  std::string sha1;  // hex
};

class RedisClient {
 public:
  // Connects the first pool connection to check the endpoint: kUnavailable when nothing
  // answers. The others connect on first use.
  static Result<std::unique_ptr<RedisClient>> Connect(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Whether a command that failed on a broken connection may be sent again on a fresh one.
  // Only for commands whose repetition is harmless.
  enum class Retry { kNo, kOnce };

  // Thread-safe.
  Result<RedisReply> Command(const std::vector<std::string>& argv, Retry retry = Retry::kNo);
  // Sends all commands, then reads all replies (one round trip). An error reply of one
  // command fails the whole call.
  Result<std::vector<RedisReply>> Pipeline(const std::vector<std::vector<std::string>>& commands,
                                           Retry retry = Retry::kNo);
  Result<RedisReply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args, Retry retry = Retry::kNo);
  Status Ping();

 private:
  struct Slot;
  explicit RedisClient(RedisOptions options, RedisEndpoint endpoint);
  Result<std::vector<RedisReply>> Run(const std::vector<std::vector<std::string>>& commands, Retry retry);
  Slot& Acquire();

  RedisOptions options_;
  RedisEndpoint endpoint_;
  std::shared_ptr<void> tls_;  // internal::TlsContext for rediss://
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<size_t> next_{0};
};

}  // namespace kubesync::state
