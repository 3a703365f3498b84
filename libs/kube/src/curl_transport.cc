// libcurl implementation of Transport. Easy handles are pooled and reused: curl_easy_reset
// keeps a handle's live connections, so consecutive requests reuse kept-alive (TLS)
// connections without a global lock around transfers.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "credentials.h"
#include "kubesync/kube/transport.h"

namespace kubesync::kube {
namespace {

using internal::Credential;
using internal::CredentialSource;

struct ServerUrl {
  std::string scheme;
  std::string host;  // with brackets for IPv6
  int port = 0;
  std::string prefix;  // path prefix without trailing slash
};

Result<ServerUrl> ParseServerUrl(const std::string& server) {
  ServerUrl u;
  size_t p = server.find("://");
  if (p == std::string::npos) {
    return InvalidArgumentError("server URL \"" + server + "\" has no scheme");
  }
  u.scheme = server.substr(0, p);
  std::string rest = server.substr(p + 3);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') {
    u.prefix.pop_back();
  }
  size_t colon = hostport.rfind(':');
  size_t bracket = hostport.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    u.host = hostport.substr(0, colon);
    u.port = std::atoi(hostport.substr(colon + 1).c_str());
  } else {
    u.host = hostport;
    u.port = u.scheme == "https" ? 443 : 80;
  }
  if (u.host.empty() || u.port <= 0) {
    return InvalidArgumentError("server URL \"" + server + "\" has no valid host:port");
  }
  return u;
}

struct TransferState {
  HttpResponse* response = nullptr;
  const BodyCallback* on_body = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  std::chrono::milliseconds idle_timeout{0};
  std::chrono::steady_clock::time_point last_data = std::chrono::steady_clock::now();
  bool stopped_by_callback = false;
  bool idle_expired = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<TransferState*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (also after "100 Continue"): start over.
    st->response->headers.clear();
    size_t sp = line.find(' ');
    st->response->status =
        sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    st->response->headers[name] = std::string(value);
  }
  return size * n;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<TransferState*>(user);
  size_t len = size * n;
  st->last_data = std::chrono::steady_clock::now();
  int code = st->response->status;
  if (st->on_body != nullptr && code >= 200 && code < 300) {
    if (!(*st->on_body)(std::string_view(data, len))) {
      st->stopped_by_callback = true;
      return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    return len;
  }
  st->response->body.append(data, len);
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<TransferState*>(user);
  if (st->cancel != nullptr && st->cancel->load()) {
    return 1;
  }
  if (st->idle_timeout.count() > 0 && std::chrono::steady_clock::now() - st->last_data > st->idle_timeout) {
    st->idle_expired = true;
    return 1;
  }
  return 0;
}

Status CurlError(CURLcode rc, const char* errbuf, const HttpRequest& req, const TransferState& st) {
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  std::string what = req.method + " " + req.path.substr(0, req.path.find('?')) + ": " + detail;
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR: {
      Status s = UnavailableError(what);
      s.WithHttp(0, std::string(kReasonNotSent));
      return s;
    }
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return FailedPreconditionError("TLS: " + what);
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(what);
    case CURLE_ABORTED_BY_CALLBACK:
      if (st.idle_expired) {
        return DeadlineExceededError(req.method + " " + req.path + ": no data for " +
                                     std::to_string(st.idle_timeout.count()) + "ms");
      }
      return CancelledError(req.method + " " + req.path.substr(0, req.path.find('?')) + ": cancelled");
    default:
      return UnavailableError(what);
  }
}

void SetBlob(CURL* h, CURLoption opt, const std::string& data) {
  curl_blob blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
  curl_easy_setopt(h, opt, &blob);
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(RestConfig config, ServerUrl url, CurlTransportOptions options)
      : config_(std::move(config)),
        url_(std::move(url)),
        options_(options),
        creds_(config_, options.clock, options.exec_timeout, options.token_file_refresh) {
    // Without proxy-url, libcurl honours http(s)_proxy from the environment like client-go
    // (ProxyFromEnvironment); Go never proxies loopback addresses, so neither do we.
    for (const char* var : {"NO_PROXY", "no_proxy"}) {
      if (const char* v = std::getenv(var); v != nullptr && *v != '\0') {
        no_proxy_ = std::string(v) + ",";
        break;
      }
    }
    no_proxy_ += "localhost,127.0.0.1,::1";
    if (!config_.tls.server_name.empty()) {
      // tls-server-name: verify (and send SNI for) that name while connecting to the real
      // host, like client-go's TLSClientConfig.ServerName.
      base_url_ =
          url_.scheme + "://" + config_.tls.server_name + ":" + std::to_string(url_.port) + url_.prefix;
      connect_to_ = config_.tls.server_name + ":" + std::to_string(url_.port) + ":" + url_.host + ":" +
                    std::to_string(url_.port);
    } else {
      base_url_ = url_.scheme + "://" + url_.host + ":" + std::to_string(url_.port) + url_.prefix;
    }
  }

  ~CurlTransport() override {
    for (CURL* h : pool_) {
      curl_easy_cleanup(h);
    }
  }

  Result<HttpResponse> Do(const HttpRequest& request) override {
    return WithAuthRetry(request, nullptr, nullptr);
  }

  Result<HttpResponse> Stream(const HttpRequest& request, const BodyCallback& on_body,
                              const std::atomic<bool>* cancel) override {
    return WithAuthRetry(request, &on_body, cancel);
  }

 private:
  Result<HttpResponse> WithAuthRetry(const HttpRequest& request, const BodyCallback* on_body,
                                     const std::atomic<bool>* cancel) {
    KS_ASSIGN_OR_RETURN(Credential cred, creds_.Get());
    KS_ASSIGN_OR_RETURN(HttpResponse resp, Perform(request, cred, on_body, cancel));
    if (resp.status == 401 && creds_.Invalidate()) {
      // The token may have rotated or the exec credential been revoked: refresh once.
      KS_ASSIGN_OR_RETURN(cred, creds_.Get());
      return Perform(request, cred, on_body, cancel);
    }
    return resp;
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        CURL* h = pool_.back();
        pool_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(h);
  }

  Result<HttpResponse> Perform(const HttpRequest& req, const Credential& cred, const BodyCallback* on_body,
                               const std::atomic<bool>* cancel) {
    CURL* h = Acquire();
    if (h == nullptr) {
      return InternalError("curl_easy_init failed");
    }
    curl_easy_reset(h);
    HttpResponse response;
    TransferState st;
    st.response = &response;
    st.on_body = on_body;
    st.cancel = cancel;
    st.idle_timeout = req.idle_timeout;
    char errbuf[CURL_ERROR_SIZE] = {0};
    std::string url = base_url_ + req.path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    long timeout = req.timeout.count() > 0 ? static_cast<long>(req.timeout.count())
                   : on_body != nullptr    ? 0L
                                           : static_cast<long>(options_.request_timeout.count());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    if (cancel != nullptr || req.idle_timeout.count() > 0) {
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &st);
    }
    curl_slist* connect_to = nullptr;
    if (!connect_to_.empty()) {
      connect_to = curl_slist_append(connect_to, connect_to_.c_str());
      curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
    }
    if (!config_.proxy_url.empty()) {
      curl_easy_setopt(h, CURLOPT_PROXY, config_.proxy_url.c_str());
    } else {
      curl_easy_setopt(h, CURLOPT_NOPROXY, no_proxy_.c_str());
    }
    // TLS: verification stays on unless the kubeconfig says insecure-skip-tls-verify.
    if (config_.tls.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!config_.tls.ca_pem.empty()) {
      SetBlob(h, CURLOPT_CAINFO_BLOB, config_.tls.ca_pem);
    }
    if (!cred.client_cert_pem.empty()) {
      SetBlob(h, CURLOPT_SSLCERT_BLOB, cred.client_cert_pem);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      SetBlob(h, CURLOPT_SSLKEY_BLOB, cred.client_key_pem);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    std::string auth_header;
    if (!cred.token.empty()) {
      auth_header = "Authorization: Bearer " + cred.token;
      headers = curl_slist_append(headers, auth_header.c_str());
    } else if (!config_.auth.username.empty()) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(h, CURLOPT_USERNAME, config_.auth.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, config_.auth.password.c_str());
    }
    std::string content_type;
    if (!req.content_type.empty()) {
      content_type = "Content-Type: " + req.content_type;
      headers = curl_slist_append(headers, content_type.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      if (!req.body.empty() || req.method != "DELETE") {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      }
    }
    CURLcode rc = curl_easy_perform(h);
    if (!auth_header.empty()) {
      // Do not leave the token in freed heap memory longer than needed.
      std::fill(auth_header.begin(), auth_header.end(), '\0');
    }
    curl_slist_free_all(headers);
    curl_slist_free_all(connect_to);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && st.stopped_by_callback)) {
      long code = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      response.status = static_cast<int>(code);
      Release(h);
      return response;
    }
    Status err = CurlError(rc, errbuf, req, st);
    // A failed handle may hold a broken connection; drop it rather than pool it.
    curl_easy_cleanup(h);
    return err;
  }

  RestConfig config_;
  ServerUrl url_;
  CurlTransportOptions options_;
  CredentialSource creds_;
  std::string base_url_;
  std::string connect_to_;
  std::string no_proxy_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

Result<std::shared_ptr<Transport>> MakeCurlTransport(const RestConfig& config, CurlTransportOptions options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  KS_ASSIGN_OR_RETURN(ServerUrl url, ParseServerUrl(config.server));
  if (url.scheme != "https" && url.scheme != "http") {
    return InvalidArgumentError("server URL \"" + config.server + "\" must be http or https");
  }
  return std::shared_ptr<Transport>(std::make_shared<CurlTransport>(config, std::move(url), options));
}

}  // namespace kubesync::kube
