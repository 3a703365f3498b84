// The informer's local cache of one resource's objects, keyed "namespace/name" (or "name"
// for cluster-scoped objects). Full mode keeps every object; lean mode keeps only key,
// resourceVersion and a content hash (about 100 bytes per object), for scopes of 100k+
// objects where consumers re-read what they need.
//
// Thread-safety: all methods may be called from any thread (a shared mutex inside);
// entries are returned by value, objects as shared immutable JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kubesync/kube/object_meta.h"  // ObjectKey

namespace kubesync::kube {

enum class StoreMode { kFull, kLean };

struct StoreEntry {
  std::string resource_version;
  uint64_t content_hash = 0;
  std::shared_ptr<const nlohmann::json> object;  // null in lean mode
};

// 64-bit FNV-1a of the object's compact JSON (the whole object, metadata included).
uint64_t ContentHash(const nlohmann::json& object);
// {"metadata":{"namespace":..,"name":..,"resourceVersion":..}} for a key (what lean-mode
// delete notifications carry when the last state is unknown).
nlohmann::json KeyStub(const std::string& key, const std::string& resource_version);

class Store {
 public:
  explicit Store(StoreMode mode = StoreMode::kFull) : mode_(mode) {}

  StoreMode mode() const { return mode_; }

  // Inserts or replaces; returns the previous entry.
  std::optional<StoreEntry> Upsert(const std::string& key, const nlohmann::json& object);
  std::optional<StoreEntry> Remove(const std::string& key);
  std::optional<StoreEntry> Get(const std::string& key) const;

  size_t size() const;
  std::vector<std::string> Keys() const;
  // Visits entries under the read lock; `fn` must not call back into the store.
  void ForEach(const std::function<void(const std::string& key, const StoreEntry& entry)>& fn) const;

 private:
  StoreMode mode_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, StoreEntry> entries_;
};

}  // namespace kubesync::kube
