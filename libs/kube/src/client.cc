#include "kubesync/kube/client.h"

#include <cstdlib>

#include "kubesync/kube/errors.h"
#include "kubesync/kube/pager.h"
#include "rate_limiter.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class Query {
 public:
  Query& Add(std::string_view key, std::string_view value) {
    if (!value.empty()) {
      text_ += text_.empty() ? '?' : '&';
      text_ += key;
      text_ += '=';
      text_ += UrlEncode(value);
    }
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

std::string WriteQuery(const WriteOptions& options, bool apply) {
  Query q;
  std::string manager = options.field_manager;
  if (apply && manager.empty()) {
    manager = "kubesync";  // server-side apply requires a field manager
  }
  q.Add("fieldManager", manager);
  if (options.dry_run) {
    q.Add("dryRun", "All");
  }
  if (apply && options.force) {
    q.Add("force", "true");
  }
  return q.str();
}

std::chrono::milliseconds RetryAfter(const HttpResponse& r) {
  auto it = r.headers.find("retry-after");
  if (it == r.headers.end()) {
    return std::chrono::milliseconds(-1);
  }
  char* end = nullptr;
  long seconds = std::strtol(it->second.c_str(), &end, 10);
  if (end == it->second.c_str() || seconds < 0) {
    return std::chrono::milliseconds(-1);
  }
  return std::chrono::seconds(seconds);
}

}  // namespace

std::string ResourceRef::Path() const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (!ns.empty()) {
    p += "/namespaces/" + ns;
  }
  p += "/" + resource;
  if (!name.empty()) {
    p += "/" + name;
    if (!subresource.empty()) {
      p += "/" + subresource;
    }
  }
  return p;
}

std::string ResourceRef::Display() const { return group.empty() ? resource : resource + "." + group; }

std::string_view PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

Result<std::unique_ptr<Client>> Client::Create(const RestConfig& config, ClientOptions options,
                                               CurlTransportOptions transport_options) {
  KS_ASSIGN_OR_RETURN(std::shared_ptr<Transport> transport, MakeCurlTransport(config, transport_options));
  return std::make_unique<Client>(std::move(transport), options);
}

Client::Client(std::shared_ptr<Transport> transport, ClientOptions options)
    : transport_(std::move(transport)),
      options_(options),
      limiter_(std::make_unique<RateLimiter>(options.qps, options.burst, options.clock)) {}

Client::~Client() = default;

Result<HttpResponse> Client::Send(HttpRequest request, Retry retry) {
  Backoff backoff(options_.backoff);
  for (int attempt = 0;; ++attempt) {
    limiter_->Acquire();
    Result<HttpResponse> r = transport_->Do(request);
    std::chrono::milliseconds delay = backoff.Next();
    if (!r.ok()) {
      const Status& s = r.status();
      bool transient = s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
      // A create that may have reached the server is not repeated: it could run twice.
      bool safe = retry == Retry::kIdempotent || s.reason() == kReasonNotSent;
      if (!transient || !safe || attempt >= options_.max_retries) {
        return s;
      }
    } else {
      int code = r->status;
      // 429 and 503 mean "not processed": safe to repeat any request.
      bool not_processed = code == 429 || code == 503;
      bool retryable = not_processed || (retry == Retry::kIdempotent && code >= 500 && code != 501);
      if (!retryable || attempt >= options_.max_retries) {
        return r;
      }
      if (std::chrono::milliseconds ra = RetryAfter(*r); ra.count() >= 0) {
        delay = std::min<std::chrono::milliseconds>(ra, options_.max_retry_after);
      }
    }
    options_.clock->SleepFor(delay);
  }
}

Result<json> Client::SendJson(HttpRequest request, Retry retry) {
  std::string method = request.method;
  KS_ASSIGN_OR_RETURN(HttpResponse r, Send(std::move(request), retry));
  if (r.status < 200 || r.status >= 300) {
    return StatusFromResponse(r.status, r.body);
  }
  json doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return InternalError(method + ": the server sent a reply that is not JSON");
  }
  return doc;
}

Result<json> Client::GetPath(const std::string& path) {
  HttpRequest req;
  req.path = path;
  return SendJson(std::move(req), Retry::kIdempotent);
}

Result<json> Client::Get(const ResourceRef& ref) {
  if (ref.name.empty()) {
    return InvalidArgumentError("get " + ref.Display() + ": name is required");
  }
  return GetPath(ref.Path());
}

Result<ListPage> Client::ListOnePage(const ResourceRef& ref, const ListOptions& options) {
  ResourceRef collection = ref;
  collection.name.clear();
  Query q;
  q.Add("labelSelector", options.label_selector).Add("fieldSelector", options.field_selector);
  if (options.limit > 0) {
    q.Add("limit", std::to_string(options.limit));
  }
  q.Add("continue", options.continue_token);
  if (options.continue_token.empty()) {
    q.Add("resourceVersion", options.resource_version)
        .Add("resourceVersionMatch", options.resource_version_match);
  }
  if (options.timeout.count() > 0) {
    q.Add("timeoutSeconds", std::to_string(options.timeout.count()));
  }
  HttpRequest req;
  req.path = collection.Path() + q.str();
  KS_ASSIGN_OR_RETURN(json doc, SendJson(std::move(req), Retry::kIdempotent));
  if (!doc.is_object()) {
    return InternalError("list " + ref.Display() + ": reply is not a JSON object");
  }
  ListPage page;
  page.kind = doc.value("kind", "");
  page.api_version = doc.value("apiVersion", "");
  if (auto md = doc.find("metadata"); md != doc.end() && md->is_object()) {
    page.resource_version = md->value("resourceVersion", "");
    page.continue_token = md->value("continue", "");
  }
  if (auto items = doc.find("items"); items != doc.end() && items->is_array()) {
    page.items.reserve(items->size());
    for (auto& item : *items) {
      page.items.push_back(std::move(item));
    }
  } else if (items != doc.end() && !items->is_null()) {
    return InternalError("list " + ref.Display() + ": items is not an array");
  }
  return page;
}

Result<ListResult> Client::List(const ResourceRef& ref, ListOptions options) {
  ListResult result;
  Status listed = ListPages(
      *this, ref, std::move(options), [&result] { result = ListResult(); },
      [&result](ListPage& page) {
        if (result.resource_version.empty()) {
          result.resource_version = page.resource_version;
          result.kind = page.kind;
          result.api_version = page.api_version;
        }
        if (result.items.empty()) {
          result.items = std::move(page.items);
        } else {
          for (auto& item : page.items) {
            result.items.push_back(std::move(item));
          }
        }
        return OkStatus();
      });
  if (!listed.ok()) {
    return listed;
  }
  return result;
}

Status Client::Watch(const ResourceRef& ref, const WatchOptions& options,
                     const std::function<bool(WatchEvent&&)>& on_event, const std::atomic<bool>* cancel) {
  ResourceRef collection = ref;
  collection.name.clear();
  Query q;
  q.Add("watch", "true")
      .Add("resourceVersion", options.resource_version)
      .Add("labelSelector", options.label_selector)
      .Add("fieldSelector", options.field_selector);
  if (options.allow_bookmarks) {
    q.Add("allowWatchBookmarks", "true");
  }
  if (options.timeout.count() > 0) {
    q.Add("timeoutSeconds", std::to_string(options.timeout.count()));
  }
  HttpRequest req;
  req.path = collection.Path() + q.str();
  req.idle_timeout = options.idle_timeout;
  if (options.timeout.count() > 0) {
    // The server ends the stream at timeoutSeconds; this only catches a server that does not.
    req.timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout) + std::chrono::seconds(60);
  }
  WatchDecoder decoder;
  std::vector<WatchEvent> batch;
  Status decode_error;
  bool stopped = false;
  BodyCallback on_body = [&](std::string_view chunk) {
    batch.clear();
    Status s = decoder.Feed(chunk, batch);
    for (auto& e : batch) {
      if (!on_event(std::move(e))) {
        stopped = true;
        return false;
      }
    }
    if (!s.ok()) {
      decode_error = s;
      return false;
    }
    return true;
  };
  limiter_->Acquire();
  KS_ASSIGN_OR_RETURN(HttpResponse r, transport_->Stream(req, on_body, cancel));
  if (r.status < 200 || r.status >= 300) {
    return StatusFromResponse(r.status, r.body);
  }
  if (stopped) {
    return OkStatus();
  }
  if (!decode_error.ok()) {
    return decode_error.Annotate("watch " + ref.Display());
  }
  batch.clear();
  Status s = decoder.Finish(batch);
  for (auto& e : batch) {
    if (!on_event(std::move(e))) {
      return OkStatus();
    }
  }
  return s;
}

Result<json> Client::Create(const ResourceRef& ref, const json& object, const WriteOptions& options) {
  ResourceRef target = ref;
  if (target.subresource.empty()) {
    target.name.clear();
  }
  HttpRequest req;
  req.method = "POST";
  req.path = target.Path() + WriteQuery(options, false);
  req.body = object.dump();
  req.content_type = "application/json";
  return SendJson(std::move(req), Retry::kNotProcessedOnly);
}

Result<json> Client::Update(const ResourceRef& ref, const json& object, const WriteOptions& options) {
  ResourceRef target = ref;
  if (target.name.empty() && object.contains("metadata")) {
    target.name = object["metadata"].value("name", "");
  }
  if (target.name.empty()) {
    return InvalidArgumentError("update " + ref.Display() + ": name is required");
  }
  HttpRequest req;
  req.method = "PUT";
  req.path = target.Path() + WriteQuery(options, false);
  req.body = object.dump();
  req.content_type = "application/json";
  return SendJson(std::move(req), Retry::kIdempotent);
}

Result<json> Client::Patch(const ResourceRef& ref, PatchType type, std::string_view patch,
                           const WriteOptions& options) {
  if (ref.name.empty()) {
    return InvalidArgumentError("patch " + ref.Display() + ": name is required");
  }
  HttpRequest req;
  req.method = "PATCH";
  req.path = ref.Path() + WriteQuery(options, type == PatchType::kApply);
  req.body = std::string(patch);
  req.content_type = std::string(PatchContentType(type));
  // A JSON patch (e.g. "add" to a list) may not be idempotent; the others are.
  return SendJson(std::move(req), type == PatchType::kJson ? Retry::kNotProcessedOnly : Retry::kIdempotent);
}

Result<json> Client::Delete(const ResourceRef& ref, const DeleteOptions& options) {
  if (ref.name.empty()) {
    return InvalidArgumentError("delete " + ref.Display() + ": name is required");
  }
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) {
    body["propagationPolicy"] = options.propagation_policy;
  }
  if (options.precondition_uid) {
    body["preconditions"]["uid"] = *options.precondition_uid;
  }
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  if (options.grace_period_seconds) {
    body["gracePeriodSeconds"] = *options.grace_period_seconds;
  }
  if (options.dry_run) {
    body["dryRun"] = json::array({"All"});
  }
  HttpRequest req;
  req.method = "DELETE";
  req.path = ref.Path();
  req.body = body.dump();
  req.content_type = "application/json";
  return SendJson(std::move(req), Retry::kIdempotent);
}

}  // namespace kubesync::kube
