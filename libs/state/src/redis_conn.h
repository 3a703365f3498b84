// One Redis connection: TCP (connect timeout, send/receive timeouts) and, for rediss://,
// TLS with OpenSSL, verified against a CA file and the host name or IP of the URL.
// Debian's hiredis (0.14) has no TLS, so the socket is ours and hiredis only formats
// commands and parses replies (redisFormatCommandArgv, redisReader). Private to libs/state.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kubesync/core/status.h"

struct redisReply;
struct redisReader;
struct ssl_ctx_st;
struct ssl_st;

namespace kubesync::state::internal {

// A TLS client context (the CA to trust), shared by a client's connections.
class TlsContext {
 public:
  // `ca_file` empty: the system's default CAs. InvalidArgument naming the file when it
  // does not load.
  static Result<std::shared_ptr<TlsContext>> Create(const std::string& ca_file);
  ~TlsContext();
  ssl_ctx_st* get() const { return ctx_; }

 private:
  TlsContext() = default;
  ssl_ctx_st* ctx_ = nullptr;
};

class RedisConn {
 public:
  // `where` ("redis 127.0.0.1:6379") prefixes every error. `tls` null: plain TCP.
  // Unavailable when nothing answers; FailedPrecondition when the TLS handshake or the
  // certificate check fails (retrying will not help).
  static Result<std::unique_ptr<RedisConn>> Open(const std::string& host, int port,
                                                 std::chrono::milliseconds connect_timeout,
                                                 std::chrono::milliseconds command_timeout,
                                                 const std::shared_ptr<TlsContext>& tls, std::string where);
  ~RedisConn();
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  // Sends every command, then reads one reply per command (replies are appended; the
  // caller frees them with freeReplyObject). Unavailable on a broken or timed-out
  // connection; the connection is then unusable.
  Status RoundTrip(const std::vector<std::vector<std::string>>& commands, std::vector<redisReply*>& replies);

 private:
  RedisConn() = default;
  Status WriteAll(const std::string& data);
  Status ReadSome();
  std::string Where(const std::string& what) const { return where_ + ": " + what; }

  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
  redisReader* reader_ = nullptr;
  std::shared_ptr<TlsContext> tls_;
  std::string where_;
};

}  // namespace kubesync::state::internal
