// Small helpers shared by the emulator's handlers.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "errors.h"
#include "kubesync/labels/selector.h"

namespace kubesync::emulator {

std::string Base64Encode(const std::string& in);
std::optional<std::string> Base64Decode(const std::string& in);

// The continue token: opaque to clients; base64 of {"v","rv","start"} like the real one.
std::string EncodeContinue(uint64_t rv, const std::string& last_key);
struct ContinuePoint {
  uint64_t rv = 0;
  std::string last_key;
};
std::optional<ContinuePoint> DecodeContinue(const std::string& token);

// labelSelector + fieldSelector of a LIST or WATCH.
struct Filter {
  labels::Selector label;
  labels::FieldSelector field;
  bool event_fields = false;  // core/v1 events: involvedObject.*, reason, source, type, ...
  bool Empty() const { return label.Empty() && field.Empty(); }
  bool Matches(const nlohmann::json& object) const;
};
// 400 BadRequest for malformed selectors or unsupported field labels. `group_resource`
// ("events" for core/v1 events) decides which fields the resource can be selected by.
std::variant<ApiError, Filter> ParseFilter(const std::string& label_selector,
                                           const std::string& field_selector,
                                           const std::string& group_resource = "");

// `object` serialised without kind and apiVersion (items of built-in lists carry neither).
void AppendWithoutTypeMeta(std::string& out, const nlohmann::json& object);

}  // namespace kubesync::emulator

namespace kubesync::emulator {
// A YAML document (server-side apply bodies) as JSON; plain scalars get YAML 1.2 core
// types (null, bool, int, float), quoted ones stay strings. nullopt when it does not parse.
std::optional<nlohmann::json> YamlToJson(const std::string& yaml, std::string* error);
}  // namespace kubesync::emulator
