#include "kubesync/kube/testing/fake_transport.h"

#include <algorithm>
#include <chrono>

#include "kubesync/kube/object_meta.h"

namespace kubesync::kube::testing {
namespace {

using nlohmann::json;

std::map<std::string, std::string> ParseQuery(const std::string& path) {
  std::map<std::string, std::string> out;
  size_t q = path.find('?');
  if (q == std::string::npos) {
    return out;
  }
  std::string rest = path.substr(q + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t amp = rest.find('&', start);
    std::string kv = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) {
      std::string value;
      for (size_t i = eq + 1; i < kv.size(); ++i) {
        if (kv[i] == '%' && i + 2 < kv.size()) {
          value.push_back(static_cast<char>(std::stoi(kv.substr(i + 1, 2), nullptr, 16)));
          i += 2;
        } else {
          value.push_back(kv[i]);
        }
      }
      out[kv.substr(0, eq)] = value;
    }
    if (amp == std::string::npos) {
      break;
    }
    start = amp + 1;
  }
  return out;
}

}  // namespace

HttpResponse StatusReply(int code, const std::string& reason, const std::string& message,
                         int retry_after_seconds) {
  HttpResponse r;
  r.status = code;
  json body = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
               {"status", "Failure"}, {"message", message}, {"reason", reason},
               {"code", code}};
  if (retry_after_seconds >= 0) {
    r.headers["retry-after"] = std::to_string(retry_after_seconds);
    body["details"] = {{"retryAfterSeconds", retry_after_seconds}};
  }
  r.body = body.dump();
  return r;
}

HttpResponse JsonReply(int code, const json& body) {
  HttpResponse r;
  r.status = code;
  r.body = body.dump();
  return r;
}

Result<HttpResponse> FakeTransport::Do(const HttpRequest& request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
  }
  return handler_(request);
}

Result<HttpResponse> FakeTransport::Stream(const HttpRequest& request, const BodyCallback& on_body,
                                           const std::atomic<bool>* cancel) {
  KS_ASSIGN_OR_RETURN(HttpResponse r, Do(request));
  if (r.status < 200 || r.status >= 300) {
    return r;
  }
  std::string body = std::move(r.body);
  r.body.clear();
  for (size_t i = 0; i < body.size(); i += stream_piece_) {
    if (cancel != nullptr && cancel->load()) {
      return CancelledError("cancelled");
    }
    if (!on_body(std::string_view(body).substr(i, stream_piece_))) {
      break;
    }
  }
  return r;
}

std::vector<HttpRequest> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeApiServer::Record(const std::string& type, const json& object) {
  history_.push_back({rv_, json{{"type", type}, {"object", object}}.dump() + "\n"});
  cv_.notify_all();
}

std::string FakeApiServer::Put(json object) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = ObjectKey(object);
  bool exists = objects_.count(key) != 0;
  ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(rv_);
  object["kind"] = "ConfigMap";
  object["apiVersion"] = "v1";
  objects_[key] = object;
  Record(exists ? "MODIFIED" : "ADDED", object);
  return std::to_string(rv_);
}

bool FakeApiServer::Delete(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(ObjectKey(ns, name));
  if (it == objects_.end()) {
    return false;
  }
  ++rv_;
  json last = it->second;
  last["metadata"]["resourceVersion"] = std::to_string(rv_);
  objects_.erase(it);
  Record("DELETED", last);
  return true;
}

void FakeApiServer::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  // Open watches keep their stream (as on a real server); new ones from an older RV and
  // continue tokens get 410. History entries stay so open streams lose nothing.
  compacted_rv_ = rv_;
  snapshots_.clear();
}

void FakeApiServer::DropWatches() {
  std::lock_guard<std::mutex> lock(mu_);
  ++drop_generation_;
  cv_.notify_all();
}

void FakeApiServer::Bookmark() {
  std::lock_guard<std::mutex> lock(mu_);
  json object = {
      {"kind", "ConfigMap"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}}};
  history_.push_back({rv_ + 1, json{{"type", "BOOKMARK"}, {"object", object}}.dump() + "\n"});
  // rv_ + 1 so watchers already at rv_ still receive it; the next write reuses rv_ + 1 but
  // bookmarks are never replayed from history on resume (skipped below when stale).
  cv_.notify_all();
}

void FakeApiServer::FailNext(const std::string& verb, int code, int count) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back({verb, code, count});
}

void FakeApiServer::ExpireContinueTokens(int count) {
  std::lock_guard<std::mutex> lock(mu_);
  expire_continue_ = count;
}

std::vector<std::string> FakeApiServer::watch_timeouts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watch_timeouts_;
}

std::vector<int64_t> FakeApiServer::list_limits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return list_limits_;
}

void FakeApiServer::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

std::map<std::string, json> FakeApiServer::Objects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_;
}

uint64_t FakeApiServer::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

int FakeApiServer::open_watches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_watches_;
}

int FakeApiServer::lists() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lists_;
}

int FakeApiServer::watches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watches_;
}

std::optional<HttpResponse> FakeApiServer::TakeFault(const std::string& verb, bool* network) {
  for (auto& f : faults_) {
    if (f.count > 0 && (f.verb == "*" || f.verb == verb)) {
      --f.count;
      *network = f.code == 0;
      if (f.code == 429) {
        return StatusReply(429, "TooManyRequests", "too many requests", 0);
      }
      if (f.code == 503) {
        return StatusReply(503, "ServiceUnavailable", "unavailable", 0);
      }
      return StatusReply(f.code, f.code == 500 ? "InternalError" : "", "injected fault");
    }
  }
  return std::nullopt;
}

Result<HttpResponse> FakeApiServer::Do(const HttpRequest& request) {
  auto query = ParseQuery(request.path);
  std::lock_guard<std::mutex> lock(mu_);
  bool network = false;
  if (auto fault = TakeFault("list", &network)) {
    if (network) {
      return UnavailableError("injected network error");
    }
    return *fault;
  }
  ++lists_;
  uint64_t snapshot_rv = rv_;
  int64_t limit = query.count("limit") != 0 ? std::stoll(query["limit"]) : 0;
  list_limits_.push_back(limit);
  std::string after;
  if (!query["continue"].empty()) {
    if (expire_continue_ > 0) {
      --expire_continue_;
      return StatusReply(410, "Expired", "The provided continue parameter is too old");
    }
    const std::string& token = query["continue"];
    size_t colon = token.find(':');
    snapshot_rv = std::stoull(token.substr(0, colon));
    after = token.substr(colon + 1);
    if (snapshots_.count(snapshot_rv) == 0) {
      return StatusReply(410, "Expired", "The provided continue parameter is too old");
    }
  } else {
    snapshots_[snapshot_rv] = objects_;
  }
  const auto& snapshot = snapshots_[snapshot_rv];
  json items = json::array();
  auto it = after.empty() ? snapshot.begin() : snapshot.upper_bound(after);
  std::string last;
  for (; it != snapshot.end() && (limit <= 0 || static_cast<int64_t>(items.size()) < limit); ++it) {
    items.push_back(it->second);
    last = it->first;
  }
  json md = {{"resourceVersion", std::to_string(snapshot_rv)}};
  if (it != snapshot.end()) {
    md["continue"] = std::to_string(snapshot_rv) + ":" + last;
  } else {
    snapshots_.erase(snapshot_rv);
  }
  return JsonReply(200,
                   {{"kind", "ConfigMapList"}, {"apiVersion", "v1"}, {"metadata", md}, {"items", items}});
}

Result<HttpResponse> FakeApiServer::Stream(const HttpRequest& request, const BodyCallback& on_body,
                                           const std::atomic<bool>* cancel) {
  auto query = ParseQuery(request.path);
  std::unique_lock<std::mutex> lock(mu_);
  bool network = false;
  if (auto fault = TakeFault("watch", &network)) {
    if (network) {
      return UnavailableError("injected network error");
    }
    return *fault;
  }
  ++watches_;
  watch_timeouts_.push_back(query["timeoutSeconds"]);
  HttpResponse ok;
  ok.status = 200;
  std::string rv_param = query["resourceVersion"];
  uint64_t from = 0;
  std::vector<std::string> initial;
  if (rv_param.empty() || rv_param == "0") {
    for (const auto& [k, obj] : objects_) {
      initial.push_back(json{{"type", "ADDED"}, {"object", obj}}.dump() + "\n");
    }
    from = rv_;
  } else {
    from = std::stoull(rv_param);
    if (from < compacted_rv_) {
      std::string line = json{{"type", "ERROR"},
                              {"object",
                               {{"kind", "Status"},
                                {"apiVersion", "v1"},
                                {"metadata", json::object()},
                                {"status", "Failure"},
                                {"message", "too old resource version: " + rv_param + " (" +
                                                std::to_string(compacted_rv_) + ")"},
                                {"reason", "Expired"},
                                {"code", 410}}}}
                             .dump() +
                         "\n";
      lock.unlock();
      on_body(line);
      return ok;
    }
  }
  ++open_watches_;
  uint64_t generation = drop_generation_;
  // Index of the first history entry newer than `from`.
  size_t next = 0;
  while (next < history_.size() && history_[next].rv <= from) {
    ++next;
  }
  auto deliver = [&](const std::string& line) {
    // Split each line in two pieces to exercise the decoder's partial-line handling.
    size_t half = line.size() / 2;
    return on_body(std::string_view(line).substr(0, half)) && on_body(std::string_view(line).substr(half));
  };
  lock.unlock();
  for (const auto& line : initial) {
    if (!deliver(line)) {
      break;
    }
  }
  lock.lock();
  Result<HttpResponse> result = ok;
  while (true) {
    if (cancel != nullptr && cancel->load()) {
      result = CancelledError("cancelled");
      break;
    }
    if (drop_generation_ != generation) {
      break;
    }
    if (next < history_.size()) {
      std::string line = history_[next].line;
      ++next;
      lock.unlock();
      bool more = deliver(line);
      lock.lock();
      if (!more) {
        break;
      }
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
  --open_watches_;
  return result;
}

}  // namespace kubesync::kube::testing
