// The object store of the emulator: every object of every kind, one global
// resourceVersion counter, a bounded history of events (for watch resume and for
// consistent paged LISTs at an older RV), and the wake-ups watchers wait on.
//
// Concurrency: one mutex guards objects, counter and history, held only for map and
// pointer work; JSON is never serialised under it. Writers use optimistic concurrency:
// read the current object, compute the new one outside the lock, Commit() it if the
// current object is still the one they read (else they retry). Objects are immutable
// once stored (shared_ptr<const json>), so readers share them without copying.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "errors.h"

namespace kubesync::emulator {

using ObjectRef = std::shared_ptr<const nlohmann::json>;

enum class EventType { kAdded, kModified, kDeleted };
const char* EventTypeName(EventType type);

struct Event {
  uint64_t rv = 0;
  EventType type = EventType::kAdded;
  std::string gr;  // group_resource(): "configmaps", "deployments.apps"
  std::string ns;
  std::string name;
  ObjectRef object;  // the new state; for DELETED the last state stamped with the delete's RV
  ObjectRef old;     // the previous state; null for ADDED

  // `object` serialised, computed once and shared by every watcher and the journal.
  const std::string& ObjectBytes() const;

 private:
  mutable std::once_flag once_;
  mutable std::string bytes_;
};
using EventPtr = std::shared_ptr<const Event>;

// "ns/name" (cluster-scoped: "/name"); the store's ordering inside one resource.
std::string ObjectKey(const std::string& ns, const std::string& name);

struct ListResult {
  uint64_t rv = 0;
  std::vector<ObjectRef> items;
  std::string next_key;  // non-empty: more items after this key (for the continue token)
};

struct WatchBatch {
  std::vector<EventPtr> events;
  bool fell_behind = false;  // events after `after` are no longer retained
  uint64_t scanned_rv = 0;   // every event up to this RV has been returned
};

class Store {
 public:
  explicit Store(size_t history_limit);

  uint64_t CurrentRv() const;
  // The oldest RV from which history is complete (watches and continue tokens from an
  // older RV get 410).
  uint64_t HistoryStartRv() const;
  // The RV of the last /emulator/compact (0 if none): continue tokens issued at or before
  // it have expired.
  uint64_t CompactedRv() const;

  ObjectRef Get(const std::string& gr, const std::string& ns, const std::string& name) const;

  // Stores `object` (nullopt: deletes) if the current object is still `expected` (pointer
  // identity; null = must not exist). Stamps metadata.resourceVersion with the new RV.
  // Returns the event, or nullptr when `expected` is stale (the caller re-reads and retries).
  EventPtr Commit(const std::string& gr, const std::string& ns, const std::string& name,
                  const ObjectRef& expected, std::optional<nlohmann::json> object);

  // Objects of `gr` in namespace `ns` ("" = all) ordered by key, after `after_key`, as they
  // were at `at_rv` (0 = now; older RVs are rebuilt from history, 410 Expired when it is
  // gone). `filter` selects items; `limit` 0 = all.
  std::variant<ApiError, ListResult> List(const std::string& gr, const std::string& ns, uint64_t at_rv,
                                          const std::string& after_key, size_t limit,
                                          const std::function<bool(const nlohmann::json&)>& filter) const;

  // Waits up to `timeout` for events after RV `after`; returns at most `max` of them.
  WatchBatch WaitEvents(uint64_t after, std::chrono::milliseconds timeout, size_t max) const;
  // Wakes every waiter (drop-watches, shutdown).
  void WakeAll();

  // Forgets all history: watches/continue tokens from before now get 410.
  void Compact();

  // For persistence: loads objects (key -> object) and the counter, without events.
  void Load(uint64_t rv, std::vector<std::pair<std::string, nlohmann::json>> objects_by_gr);
  // Every object with its group_resource, and the counter, as one consistent snapshot.
  std::pair<uint64_t, std::vector<std::pair<std::string, ObjectRef>>> Snapshot() const;

 private:
  using Objects = std::map<std::string, ObjectRef>;  // ObjectKey -> object

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  uint64_t rv_ = 0;
  uint64_t history_start_rv_ = 0;  // history_[i].rv == history_start_rv_ + 1 + i
  size_t history_limit_;
  std::deque<EventPtr> history_;
  std::unordered_map<std::string, Objects> objects_;  // group_resource -> objects
  uint64_t wake_generation_ = 0;
  uint64_t compacted_rv_ = 0;
};

}  // namespace kubesync::emulator
