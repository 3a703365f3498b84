// Small non-throwing accessors for unstructured Kubernetes objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kubesync::transform::internal {

// The child object `key` of `parent`, or nullptr when `parent` is not an object or the
// child is missing or not an object.
inline nlohmann::json* ObjectAt(nlohmann::json* parent, std::string_view key) {
  if (parent == nullptr || !parent->is_object()) {
    return nullptr;
  }
  auto it = parent->find(key);
  return it != parent->end() && it->is_object() ? &*it : nullptr;
}
inline const nlohmann::json* ObjectAt(const nlohmann::json* parent, std::string_view key) {
  return ObjectAt(const_cast<nlohmann::json*>(parent), key);
}

inline nlohmann::json* ArrayAt(nlohmann::json* parent, std::string_view key) {
  if (parent == nullptr || !parent->is_object()) {
    return nullptr;
  }
  auto it = parent->find(key);
  return it != parent->end() && it->is_array() ? &*it : nullptr;
}
inline const nlohmann::json* ArrayAt(const nlohmann::json* parent, std::string_view key) {
  return ArrayAt(const_cast<nlohmann::json*>(parent), key);
}

// The string member `key`, or `fallback` when absent or not a string.
inline std::string StringAt(const nlohmann::json* parent, std::string_view key, std::string fallback = {}) {
  if (parent == nullptr || !parent->is_object()) {
    return fallback;
  }
  auto it = parent->find(key);
  return it != parent->end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline bool Has(const nlohmann::json* parent, std::string_view key) {
  return parent != nullptr && parent->is_object() && parent->contains(key);
}

inline void Erase(nlohmann::json* parent, std::string_view key) {
  if (parent != nullptr && parent->is_object()) {
    auto it = parent->find(key);
    if (it != parent->end()) {
      parent->erase(it);
    }
  }
}

// Erases `key` from `parent` when it holds an empty object or array.
inline void EraseIfEmpty(nlohmann::json* parent, std::string_view key) {
  if (parent == nullptr || !parent->is_object()) {
    return;
  }
  auto it = parent->find(key);
  if (it != parent->end() && (it->is_object() || it->is_array()) && it->empty()) {
    parent->erase(it);
  }
}

}  // namespace kubesync::transform::internal
