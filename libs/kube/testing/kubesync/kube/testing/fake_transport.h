// Hand-written fakes of kube::Transport for tests of Client, Discovery and Informer.
//  - FakeTransport: answers each request with a test-supplied function and records them.
//  - FakeApiServer: an in-memory collection with a global resourceVersion, paged LIST
//    snapshots, watch history (resume, compaction -> ERROR 410), bookmarks, dropped
//    watches and injected faults: enough of the API to drive the informer's state machine.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kubesync/kube/transport.h"

namespace kubesync::kube::testing {

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;
  explicit FakeTransport(Handler handler) : handler_(std::move(handler)) {}

  Result<HttpResponse> Do(const HttpRequest& request) override;
  // Calls the handler and feeds a 2xx body to `on_body` in pieces of `stream_piece` bytes.
  Result<HttpResponse> Stream(const HttpRequest& request, const BodyCallback& on_body,
                              const std::atomic<bool>* cancel) override;

  std::vector<HttpRequest> requests() const;
  void set_stream_piece(size_t n) { stream_piece_ = n; }

 private:
  Handler handler_;
  size_t stream_piece_ = 7;
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
};

// A reply with a metav1.Status body, like the apiserver's errors.
HttpResponse StatusReply(int code, const std::string& reason, const std::string& message,
                         int retry_after_seconds = -1);
HttpResponse JsonReply(int code, const nlohmann::json& body);

class FakeApiServer final : public Transport {
 public:
  // Serves one collection: every path is treated as it (tests use one resource).
  FakeApiServer() = default;

  // --- state, driven by the test (each write bumps the global RV and records an event)
  std::string Put(nlohmann::json object);  // create or update by metadata.namespace/name
  bool Delete(const std::string& ns, const std::string& name);
  void Compact();      // forget watch history and list snapshots up to now
  void DropWatches();  // end every open watch stream cleanly
  void Bookmark();     // send a BOOKMARK at the current RV to open watches
  // The next `count` requests of `verb` ("list", "watch", "*") fail with `code` (a
  // Status reply; 0 = a network error instead).
  void FailNext(const std::string& verb, int code, int count);
  void ClearFaults();
  // The next `count` LIST requests that carry a continue token get 410 Expired.
  void ExpireContinueTokens(int count);

  std::map<std::string, nlohmann::json> Objects() const;  // key "ns/name"
  uint64_t resource_version() const;
  int open_watches() const;
  int lists() const;
  // The `limit` of every LIST request so far (0 = none).
  std::vector<int64_t> list_limits() const;
  int watches() const;
  // The `timeoutSeconds` of every watch request so far ("" = none).
  std::vector<std::string> watch_timeouts() const;

  Result<HttpResponse> Do(const HttpRequest& request) override;
  Result<HttpResponse> Stream(const HttpRequest& request, const BodyCallback& on_body,
                              const std::atomic<bool>* cancel) override;

 private:
  struct Event {
    uint64_t rv;
    std::string line;
  };
  std::optional<HttpResponse> TakeFault(const std::string& verb, bool* network);
  void Record(const std::string& type, const nlohmann::json& object);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t rv_ = 100;
  uint64_t compacted_rv_ = 0;
  uint64_t drop_generation_ = 0;
  std::map<std::string, nlohmann::json> objects_;
  std::vector<Event> history_;
  std::map<uint64_t, std::map<std::string, nlohmann::json>> snapshots_;
  struct Fault {
    std::string verb;
    int code;
    int count;
  };
  std::vector<Fault> faults_;
  int expire_continue_ = 0;
  std::vector<int64_t> list_limits_;
  std::vector<std::string> watch_timeouts_;
  int open_watches_ = 0;
  int lists_ = 0;
  int watches_ = 0;
};

}  // namespace kubesync::kube::testing
