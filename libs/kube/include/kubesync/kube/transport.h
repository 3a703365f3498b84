// The HTTP layer under Client: one request in, one response out (or a streamed body for
// watches). The real implementation (MakeCurlTransport) does TLS, authentication and
// connection reuse; rate limiting, retries and error mapping live above it in Client, so
// that tests can swap in a fake (libs/kube/testing/) and drive Client and Informer
// without a server.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/config.h"

namespace kubesync::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // absolute path plus query: "/api/v1/namespaces/a/configmaps?limit=500"
  std::string body;
  std::string content_type;  // of the body; empty when none
  // Whole-request deadline; 0 = the transport's default.
  std::chrono::milliseconds timeout{0};
  // For streams: the request fails with kDeadlineExceeded when no byte arrives for this long
  // (0 = no idle limit).
  std::chrono::milliseconds idle_timeout{0};
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // empty for successfully streamed bodies
};

// Set as Status::reason() (with http_status 0) on network errors that happened before any
// byte of the request was sent (connection refused, DNS, TLS handshake): retrying those
// cannot duplicate a create.
inline constexpr std::string_view kReasonNotSent = "ConnectionFailedBeforeSend";

// Called with each piece of a 2xx streamed body; returning false ends the stream.
using BodyCallback = std::function<bool(std::string_view chunk)>;

// Implementations are thread-safe: many threads may call Do/Stream at once.
class Transport {
 public:
  virtual ~Transport() = default;

  // Sends the request and reads the whole reply. A non-2xx reply is a successful Result
  // (status and body kept); network failures are kUnavailable, timeouts kDeadlineExceeded.
  virtual Result<HttpResponse> Do(const HttpRequest& request) = 0;

  // Like Do, but a 2xx body is passed to `on_body` as it arrives instead of being kept.
  // Returns when the server ends the stream, `on_body` returns false (OK), or `cancel`
  // becomes true (kCancelled, promptly even when the stream is idle).
  virtual Result<HttpResponse> Stream(const HttpRequest& request, const BodyCallback& on_body,
                                      const std::atomic<bool>* cancel) = 0;
};

struct CurlTransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{60'000};
  std::string user_agent = "kubesync/0.1";
  // How long an exec-plugin run may take.
  std::chrono::milliseconds exec_timeout{30'000};
  // Re-read a tokenFile at most this often (and after every 401).
  std::chrono::milliseconds token_file_refresh{60'000};
  const Clock* clock = &SystemClock::Get();
};

// libcurl with a pool of reused easy handles (kept-alive connections), TLS verification
// on unless the config says insecure, bearer token / tokenFile / basic / client cert /
// exec-plugin credentials. On a 401 with a tokenFile or exec plugin, it refreshes the
// credential once and repeats the request.
Result<std::shared_ptr<Transport>> MakeCurlTransport(const RestConfig& config,
                                                     CurlTransportOptions options = {});

}  // namespace kubesync::kube
