// The Kubernetes REST client every kubesync component uses: get, list (paged, one
// snapshot), watch, create, update, patch, delete on namespaced and cluster-scoped
// resources and their subresources. Objects are nlohmann::json. Requests are rate limited
// (token bucket, QPS/burst) and retried with backoff when that is safe: reads, updates,
// patches and deletes on 429/5xx/network errors; creates only when the server cannot have
// processed them (429/503 replies, or a connection that failed before sending). Errors
// carry the API reason and code (see errors.h).
//
// Thread-safety: a Client is safe to share across threads; Watch blocks its caller only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/backoff.h"
#include "kubesync/core/clock.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/config.h"
#include "kubesync/kube/transport.h"
#include "kubesync/kube/watch.h"

namespace kubesync::kube {

class RateLimiter;

// Which objects a call is about. `group` empty = the core group (/api/v1). `ns` empty on a
// namespaced resource lists/watches across all namespaces; for cluster-scoped resources it
// must stay empty. `name` empty = the collection.
struct ResourceRef {
  std::string group;
  std::string version = "v1";
  std::string resource;  // plural, lower case: "configmaps"
  std::string ns;
  std::string name;
  std::string subresource;  // "status", "scale", ...

  // "/api/v1/namespaces/a/configmaps/b/status" (no query).
  std::string Path() const;
  // "configmaps" or "deployments.apps" style, for messages.
  std::string Display() const;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;        // "" = latest (consistent); "0" = any
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
  int64_t limit = 500;                 // page size; 0 = no paging
  std::string continue_token;
  std::chrono::seconds timeout{0};
};

struct ListPage {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // of the list (the snapshot)
  std::string continue_token;    // "" on the last page
  std::string kind;              // "ConfigMapList"
  std::string api_version;
};

struct ListResult {
  std::vector<nlohmann::json> items;
  std::string resource_version;
  std::string kind;
  std::string api_version;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "" or "0": synthetic ADDED for current objects first
  bool allow_bookmarks = true;
  std::chrono::seconds timeout{300};  // the server's timeoutSeconds (the stream then ends cleanly)
  // Client-side: the stream fails with kDeadlineExceeded when silent this long.
  std::chrono::milliseconds idle_timeout{0};
};

struct WriteOptions {
  std::string field_manager;
  bool dry_run = false;
  bool force = false;  // server-side apply: take over conflicting fields
};

enum class PatchType { kJson, kMerge, kStrategicMerge, kApply };
std::string_view PatchContentType(PatchType type);

struct DeleteOptions {
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::optional<int64_t> grace_period_seconds;
  bool dry_run = false;
};

struct ClientOptions {
  // Client-side rate limit; well above client-go's 5/10 defaults.
  double qps = 200;
  int burst = 400;
  // Attempts after the first for retryable failures.
  int max_retries = 5;
  BackoffPolicy backoff = {std::chrono::milliseconds(100), std::chrono::milliseconds(10'000), 2.0, 0.2};
  // Retry-After above this is clamped, so one reply cannot park a caller for long.
  std::chrono::seconds max_retry_after{30};
  const Clock* clock = &SystemClock::Get();
};

class Client {
 public:
  // A client over libcurl for `config`.
  static Result<std::unique_ptr<Client>> Create(const RestConfig& config, ClientOptions options = {},
                                                CurlTransportOptions transport_options = {});
  Client(std::shared_ptr<Transport> transport, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<nlohmann::json> Get(const ResourceRef& ref);
  // One page. kOutOfRange/"Expired" when the continue token has expired.
  Result<ListPage> ListOnePage(const ResourceRef& ref, const ListOptions& options);
  // Every page of one snapshot (pages through `continue`).
  Result<ListResult> List(const ResourceRef& ref, ListOptions options = {});

  // Streams events to `on_event` until the server ends the stream (OK), `on_event`
  // returns false (OK), `cancel` becomes true (kCancelled) or an error. ERROR events are
  // passed to `on_event` like the others (see StatusFromApiStatus). A non-2xx reply to
  // the watch request itself is returned as an error (e.g. 410 -> kOutOfRange).
  Status Watch(const ResourceRef& ref, const WatchOptions& options,
               const std::function<bool(WatchEvent&&)>& on_event, const std::atomic<bool>* cancel = nullptr);

  Result<nlohmann::json> Create(const ResourceRef& ref, const nlohmann::json& object,
                                const WriteOptions& options = {});
  Result<nlohmann::json> Update(const ResourceRef& ref, const nlohmann::json& object,
                                const WriteOptions& options = {});
  Result<nlohmann::json> Patch(const ResourceRef& ref, PatchType type, std::string_view patch,
                               const WriteOptions& options = {});
  // The reply: a Status (Success) or the object (finalizers pending, some kinds).
  Result<nlohmann::json> Delete(const ResourceRef& ref, const DeleteOptions& options = {});

  // A raw GET of an absolute path (discovery, /version); errors mapped like the verbs.
  Result<nlohmann::json> GetPath(const std::string& path);

  const ClientOptions& options() const { return options_; }

 private:
  enum class Retry { kIdempotent, kNotProcessedOnly };
  Result<HttpResponse> Send(HttpRequest request, Retry retry);
  Result<nlohmann::json> SendJson(HttpRequest request, Retry retry);

  std::shared_ptr<Transport> transport_;
  ClientOptions options_;
  std::unique_ptr<RateLimiter> limiter_;
};

}  // namespace kubesync::kube
