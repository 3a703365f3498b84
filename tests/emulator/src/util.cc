#include "util.h"

#include <string_view>

namespace kubesync::emulator {
namespace {
constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string Base64Encode(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += kTable[n & 63];
  }
  const size_t left = in.size() - i;
  if (left > 0) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (left == 2) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += left == 2 ? kTable[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(const std::string& in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::char_traits<char>::find(kTable, 64, c);
    if (p == nullptr) {
      if (c == '-') {
        p = kTable + 62;
      } else if (c == '_') {
        p = kTable + 63;
      } else {
        return std::nullopt;
      }
    }
    buf = (buf << 6) | static_cast<uint32_t>(p - kTable);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

std::string EncodeContinue(uint64_t rv, const std::string& last_key) {
  return Base64Encode(nlohmann::json{{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", last_key + '\0'}}.dump());
}

std::optional<ContinuePoint> DecodeContinue(const std::string& token) {
  auto raw = Base64Decode(token);
  if (!raw) return std::nullopt;
  auto j = nlohmann::json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rv") || !j["rv"].is_number_unsigned() ||
      !j.contains("start") || !j["start"].is_string()) {
    return std::nullopt;
  }
  std::string start = j["start"].get<std::string>();
  if (!start.empty() && start.back() == '\0') start.pop_back();
  return ContinuePoint{j["rv"].get<uint64_t>(), start};
}

namespace {

// The selectable fields of a core/v1 Event (pkg/registry/core/event/strategy.go
// ToSelectableFields): "source" is source.component, else reportingComponent.
const char* const kEventFields[] = {"involvedObject.kind",
                                    "involvedObject.namespace",
                                    "involvedObject.name",
                                    "involvedObject.uid",
                                    "involvedObject.apiVersion",
                                    "involvedObject.resourceVersion",
                                    "involvedObject.fieldPath",
                                    "reason",
                                    "reportingComponent",
                                    "source",
                                    "type"};

std::string StringAt(const nlohmann::json& object, const char* parent, const char* key) {
  const auto it = object.find(parent);
  if (it == object.end() || !it->is_object()) return "";
  const auto v = it->find(key);
  return v != it->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string TopString(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string EventField(const nlohmann::json& event, const std::string& field) {
  constexpr std::string_view kInvolved = "involvedObject.";
  if (field.rfind(kInvolved, 0) == 0) {
    return StringAt(event, "involvedObject", field.substr(kInvolved.size()).c_str());
  }
  if (field == "reason" || field == "type" || field == "reportingComponent")
    return TopString(event, field.c_str());
  if (field == "source") {
    std::string s = StringAt(event, "source", "component");
    return s.empty() ? TopString(event, "reportingComponent") : s;
  }
  return "";
}

}  // namespace

bool Filter::Matches(const nlohmann::json& object) const {
  const auto& md = object["metadata"];
  if (!label.Empty()) {
    static const nlohmann::json kNull;
    if (!label.Matches(md.contains("labels") ? md["labels"] : kNull)) return false;
  }
  if (!field.Empty()) {
    return field.Matches([&](const std::string& f) -> std::string {
      if (f == "metadata.name") return md.value("name", "");
      if (f == "metadata.namespace") return md.value("namespace", "");
      return event_fields ? EventField(object, f) : "";
    });
  }
  return true;
}

std::variant<ApiError, Filter> ParseFilter(const std::string& label_selector,
                                           const std::string& field_selector,
                                           const std::string& group_resource) {
  Filter f;
  f.event_fields = group_resource == "events";
  if (!label_selector.empty()) {
    auto s = labels::Selector::Parse(label_selector);
    if (!s.ok()) return BadRequest("unable to parse requirement: " + s.status().message());
    f.label = *s;
  }
  if (!field_selector.empty()) {
    auto s = labels::FieldSelector::Parse(field_selector);
    if (!s.ok()) return BadRequest(s.status().message());
    for (const auto& r : s->requirements()) {
      if (f.event_fields && r.field != "metadata.name" && r.field != "metadata.namespace") {
        bool known = false;
        for (const char* e : kEventFields) known = known || r.field == e;
        // core/v1 AddFieldLabelConversionsForEvent
        if (!known) return BadRequest("field label not supported: " + r.field);
        continue;
      }
      if (r.field != "metadata.name" && r.field != "metadata.namespace") {
        return BadRequest("\"" + r.field +
                          "\" is not a known field selector: only \"metadata.name\", "
                          "\"metadata.namespace\"");
      }
    }
    f.field = *s;
  }
  return f;
}

void AppendWithoutTypeMeta(std::string& out, const nlohmann::json& object) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : object.items()) {
    if (k == "kind" || k == "apiVersion") continue;
    if (!first) out += ',';
    first = false;
    out += nlohmann::json(k).dump();
    out += ':';
    out += v.dump();
  }
  out += '}';
}

}  // namespace kubesync::emulator

#include <yaml-cpp/yaml.h>

namespace kubesync::emulator {
namespace {

nlohmann::json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  try {
    size_t pos = 0;
    const long long v = std::stoll(s, &pos, 10);
    if (pos == s.size()) return v;
  } catch (...) {
  }
  if (s.find_first_of("0123456789") != std::string::npos) {
    try {
      size_t pos = 0;
      const double d = std::stod(s, &pos);
      if (pos == s.size()) return d;
    } catch (...) {
    }
  }
  return s;
}

nlohmann::json NodeToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& n : node) a.push_back(NodeToJson(n));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : node) o[kv.first.as<std::string>()] = NodeToJson(kv.second);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<nlohmann::json> YamlToJson(const std::string& yaml, std::string* error) {
  // JSON is YAML, but parsing it as JSON keeps number and string types exact.
  auto j = nlohmann::json::parse(yaml, nullptr, false);
  if (!j.is_discarded()) return j;
  try {
    return NodeToJson(YAML::Load(yaml));
  } catch (const YAML::Exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

}  // namespace kubesync::emulator
