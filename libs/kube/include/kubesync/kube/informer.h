// An informer keeps a local Store of one resource in step with the server and tells a
// handler about every change. It is client-go's reflector (and kube-rs's watcher) as a
// small state machine:
//
//   LIST (pages of `page_size`, one snapshot) -> diff against the store -> synced
//   WATCH from the list RV with bookmarks; events apply to the store in order
//   clean end of stream / network error   -> WATCH again from the last RV seen
//                                            (errors after a backoff)
//   410 Gone/Expired (HTTP or ERROR event) -> LIST again; objects that vanished in the gap
//                                            are reported deleted (final_state_unknown)
//   429 / 5xx                              -> backoff, then resume
//
// It never silently loses a change: after any failure it either resumes from the last RV
// it applied or re-lists and diffs by resourceVersion.
//
// Handlers run on the informer's thread, one at a time, in server order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "kubesync/core/backoff.h"
#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/store.h"

namespace kubesync::kube {

struct InformerHandlers {
  // `in_initial_list`: the object came from the first LIST (before HasSynced).
  std::function<void(const nlohmann::json& object, bool in_initial_list)> on_add;
  // `old_object` is the previous state in full mode; in lean mode a KeyStub (name,
  // namespace and the previous resourceVersion). Never null.
  std::function<void(const nlohmann::json* old_object, const nlohmann::json& new_object)> on_update;
  // `final_state_unknown`: the delete was inferred by a re-list; `last_known` is the
  // stored object (full mode) or KeyStub(key, last RV) (lean mode), and the informer's
  // last_resource_version() is already the re-list's, at which the object was gone.
  std::function<void(const nlohmann::json& last_known, bool final_state_unknown)> on_delete;
};

struct InformerOptions {
  ResourceRef resource;  // a collection: group, version, resource, optional namespace
  std::string label_selector;
  std::string field_selector;
  StoreMode store_mode = StoreMode::kFull;
  int64_t page_size = 500;
  // Each watch asks the server for timeoutSeconds drawn from [min, 2*min) like client-go.
  std::chrono::seconds min_watch_timeout{300};
  // A watch silent for this long is abandoned and resumed (bookmarks keep it alive).
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(5)};
  BackoffPolicy backoff = {std::chrono::milliseconds(200), std::chrono::milliseconds(30'000), 2.0, 0.2};
  std::optional<log::Logger> logger;
  // Time and randomness, injected so tests can drive them. `clock` null means the system
  // clock; `random` empty means an engine seeded once from std::random_device. `random` is
  // called from the informer's thread only.
  const Clock* clock = nullptr;
  std::function<uint64_t()> random;
};

struct InformerStats {
  uint64_t lists = 0;         // completed LISTs
  uint64_t relists = 0;       // LISTs after the first (410 or failure)
  uint64_t watches = 0;       // watch requests started
  uint64_t watch_errors = 0;  // failed watches (any cause)
  uint64_t events = 0;        // watch events applied (bookmarks excluded)
  uint64_t inferred_deletes = 0;
};

class Informer {
 public:
  // `client` must outlive the informer.
  Informer(Client& client, InformerOptions options, InformerHandlers handlers);
  ~Informer();  // Stop() and join
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Runs the loop on a thread of its own. Call once.
  void Start();
  // Runs the loop on the calling thread until Stop().
  void Run();
  // Ends the loop promptly (interrupts a blocked watch and any backoff). Thread-safe.
  void Stop();

  // True once the first LIST has been applied.
  bool HasSynced() const { return synced_.load(); }
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  const Store& store() const { return store_; }
  // The RV the next watch would resume from.
  std::string last_resource_version() const;
  InformerStats stats() const;

 private:
  Status ListAndDiff();
  // Returns OK on a clean end of stream; the error otherwise (410 -> re-list).
  Status WatchOnce(bool* saw_events);
  void Apply(WatchEvent&& event);
  void NotifyUpdate(const std::string& key, const StoreEntry& old, const nlohmann::json& object);
  bool SleepUnlessStopped(std::chrono::milliseconds d);
  void Warn(std::string_view msg, const Status& status) const;

  Client& client_;
  InformerOptions options_;
  InformerHandlers handlers_;
  Store store_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string last_rv_;  // guarded by mu_
  InformerStats stats_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace kubesync::kube
