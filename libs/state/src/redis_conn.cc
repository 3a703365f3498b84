#include "redis_conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kubesync::state::internal {
namespace {

std::string OpenSslError() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown TLS error" : text;
}

void SetTimeouts(int fd, std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Connects with a deadline: non-blocking connect, poll, then back to blocking.
int ConnectWithTimeout(const addrinfo* ai, std::chrono::milliseconds timeout, int* err) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc == 0) {
      *err = ETIMEDOUT;
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    rc = so_error == 0 && rc > 0 ? 0 : -1;
    errno = so_error != 0 ? so_error : errno;
  }
  if (rc != 0) {
    *err = errno;
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, flags);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const std::string& ca_file) {
  std::shared_ptr<TlsContext> tls(new TlsContext());
  tls->ctx_ = SSL_CTX_new(TLS_client_method());
  if (tls->ctx_ == nullptr) return InternalError("redis TLS: " + OpenSslError());
  SSL_CTX_set_min_proto_version(tls->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(tls->ctx_, SSL_VERIFY_PEER, nullptr);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(tls->ctx_)
                                     : SSL_CTX_load_verify_locations(tls->ctx_, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return InvalidArgumentError("redis TLS: cannot load the CA file " +
                                (ca_file.empty() ? std::string("(system default)") : ca_file) + ": " +
                                OpenSslError());
  }
  return tls;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<RedisConn>> RedisConn::Open(const std::string& host, int port,
                                                   std::chrono::milliseconds connect_timeout,
                                                   std::chrono::milliseconds command_timeout,
                                                   const std::shared_ptr<TlsContext>& tls,
                                                   std::string where) {
  std::unique_ptr<RedisConn> conn(new RedisConn());
  conn->where_ = std::move(where);
  conn->tls_ = tls;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return UnavailableError(conn->Where(std::string("cannot resolve host: ") + gai_strerror(rc)));
  }
  int err = 0;
  for (const addrinfo* ai = res; ai != nullptr && conn->fd_ < 0; ai = ai->ai_next) {
    conn->fd_ = ConnectWithTimeout(ai, connect_timeout, &err);
  }
  ::freeaddrinfo(res);
  if (conn->fd_ < 0) return UnavailableError(conn->Where(std::strerror(err)));
  SetTimeouts(conn->fd_, command_timeout);
  conn->reader_ = redisReaderCreate();
  if (conn->reader_ == nullptr) return InternalError(conn->Where("cannot allocate a reply reader"));
  if (tls != nullptr) {
    conn->ssl_ = SSL_new(tls->get());
    if (conn->ssl_ == nullptr) return InternalError(conn->Where("TLS: " + OpenSslError()));
    // The certificate must name what the URL names: an IP address or a DNS name.
    in6_addr ip{};
    const bool is_ip =
        ::inet_pton(AF_INET, host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, host.c_str(), &ip) == 1;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl_), host.c_str());
    } else {
      SSL_set_tlsext_host_name(conn->ssl_, host.c_str());
      SSL_set1_host(conn->ssl_, host.c_str());
    }
    SSL_set_fd(conn->ssl_, conn->fd_);
    ERR_clear_error();
    if (SSL_connect(conn->ssl_) != 1) {
      const long verify = SSL_get_verify_result(conn->ssl_);
      std::string why = verify != X509_V_OK ? std::string("certificate verification failed: ") +
                                                  X509_verify_cert_error_string(verify)
                                            : OpenSslError();
      return FailedPreconditionError(conn->Where("TLS handshake failed: " + why));
    }
  }
  return conn;
}

RedisConn::~RedisConn() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);  // no close_notify: the peer sees the TCP close either way
  }
  if (fd_ >= 0) ::close(fd_);
  if (reader_ != nullptr) redisReaderFree(reader_);
}

Status RedisConn::WriteAll(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
      if (n <= 0) return UnavailableError(Where("write: " + OpenSslError()));
    } else {
      n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return UnavailableError(Where(std::string("write: ") + std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status RedisConn::ReadSome() {
  char buf[16384];
  ssize_t n;
  if (ssl_ != nullptr) {
    ERR_clear_error();
    n = SSL_read(ssl_, buf, sizeof(buf));
    if (n <= 0) {
      const int e = SSL_get_error(ssl_, static_cast<int>(n));
      if (e == SSL_ERROR_ZERO_RETURN) return UnavailableError(Where("connection closed"));
      if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return UnavailableError(Where("timed out waiting for a reply"));
      }
      return UnavailableError(Where("read: " + OpenSslError()));
    }
  } else {
    do {
      n = ::recv(fd_, buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return UnavailableError(Where("connection closed"));
    if (n < 0) {
      return UnavailableError(Where(errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for a reply"
                                                                            : std::strerror(errno)));
    }
  }
  if (redisReaderFeed(reader_, buf, static_cast<size_t>(n)) != REDIS_OK) {
    return UnavailableError(Where("reply buffer: out of memory"));
  }
  return OkStatus();
}

Status RedisConn::RoundTrip(const std::vector<std::vector<std::string>>& commands,
                            std::vector<redisReply*>& replies) {
  std::string out;
  for (const auto& cmd : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(cmd.size());
    lens.reserve(cmd.size());
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    char* formatted = nullptr;
    const int len =
        redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (len < 0) return InternalError(Where("cannot format a command"));
    out.append(formatted, static_cast<size_t>(len));
    redisFreeCommand(formatted);
  }
  KS_RETURN_IF_ERROR(WriteAll(out));
  for (size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    while (true) {
      if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
        return UnavailableError(Where(std::string("protocol error: ") + reader_->errstr));
      }
      if (reply != nullptr) break;
      KS_RETURN_IF_ERROR(ReadSome());
    }
    replies.push_back(static_cast<redisReply*>(reply));
  }
  return OkStatus();
}

}  // namespace kubesync::state::internal
