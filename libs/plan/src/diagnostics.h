// Private: collects validation findings with field paths, and typed accessors over JSON
// objects that report what is wrong instead of throwing.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/plan/plan.h"

namespace kubesync::plan::internal {

using nlohmann::json;

// "a.b" / "b" when `path` is empty.
std::string Join(std::string_view path, std::string_view key);
// "a[3]".
std::string Index(std::string_view path, std::size_t i);
// Go's %q: "a\"b\\c".
std::string Quote(std::string_view s);
// "a string", "a number", "a list", ... for "must be X (got Y)" messages.
std::string Describe(const json& v);
// Levenshtein distance, case-insensitive.
std::size_t EditDistance(std::string_view a, std::string_view b);
// The candidate closest to `name` when it is close enough to be a likely typo.
std::optional<std::string> Closest(std::string_view name, const std::vector<std::string>& candidates);

class Diagnostics {
 public:
  void Error(std::string path, std::string message) {
    errors_.push_back({std::move(path), std::move(message)});
  }
  void Warn(std::string path, std::string message) {
    warnings_.push_back({std::move(path), std::move(message)});
  }

  // Reports every key of object `obj` that is not in `known` as "unknown field" (with
  // "did you mean X?" for a close known name, or the text in `hints` for that key).
  void CheckFields(const json& obj, std::string_view path, const std::vector<std::string>& known,
                   const std::map<std::string, std::string>& hints = {});

  // Typed reads of obj[key]. Absent or null counts as missing: an error when `required`.
  // A value of the wrong type is always an error. The result is empty on any problem.
  std::optional<std::string> String(const json& obj, std::string_view key, std::string_view path,
                                    bool required);
  std::optional<bool> Bool(const json& obj, std::string_view key, std::string_view path, bool required);
  std::optional<int64_t> Int(const json& obj, std::string_view key, std::string_view path, bool required,
                             int64_t min, int64_t max);
  // nullptr when missing or not an object/list (reported as above).
  const json* Object(const json& obj, std::string_view key, std::string_view path, bool required);
  const json* List(const json& obj, std::string_view key, std::string_view path, bool required);

  bool ok() const { return errors_.empty(); }
  const std::vector<FieldError>& errors() const { return errors_; }
  const std::vector<FieldError>& warnings() const { return warnings_; }

 private:
  std::vector<FieldError> errors_;
  std::vector<FieldError> warnings_;
};

// obj[key] when obj is an object holding a non-null key, else nullptr.
const json* Find(const json& obj, std::string_view key);

}  // namespace kubesync::plan::internal
