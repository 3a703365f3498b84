#include "table.h"

#include <cctype>
#include <cmath>

#include "kubesync/core/clock.h"

namespace kubesync::emulator {
namespace {

using nlohmann::json;

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    out.push_back(Trim(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

// Descriptions as in the real Table (metav1.ObjectMeta swagger docs).
constexpr const char* kNameDescription =
    "Name must be unique within a namespace. Is required when creating resources, although some resources "
    "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
    "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
constexpr const char* kAgeDescription =
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
    "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
    "lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata";

json DateCell(const json& value, std::chrono::system_clock::time_point now) {
  if (!value.is_string()) return nullptr;
  auto t = ParseRfc3339(value.get<std::string>());
  if (!t.ok()) return "<invalid>";
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

// apiextensions tableconvertor: string columns print the JSONPath result, the other types
// keep typed values (cellForJSONValue); anything that does not fit is null (<none>).
json Cell(const json& column, const json& object, std::chrono::system_clock::time_point now) {
  const std::string type = column.value("type", "string");
  auto value = EvalSimpleJsonPath(object, column.value("jsonPath", ""));
  if (!value || value->is_null()) return nullptr;
  if (type == "string") return value->is_string() ? value->get<std::string>() : value->dump();
  if (type == "integer") {
    if (value->is_number_integer()) return *value;
    if (value->is_number_float()) return static_cast<int64_t>(value->get<double>());
    return nullptr;
  }
  if (type == "number") return value->is_number() ? *value : json(nullptr);
  if (type == "boolean") return value->is_boolean() ? *value : json(nullptr);
  if (type == "date") return DateCell(*value, now);
  return nullptr;
}

}  // namespace

std::optional<std::string> TableVersionFromAccept(const std::string& accept) {
  for (const auto& range : Split(accept, ',')) {
    auto parts = Split(range, ';');
    if (parts.empty() || parts[0].empty()) continue;
    std::string as, g, v;
    for (size_t i = 1; i < parts.size(); ++i) {
      const auto eq = parts[i].find('=');
      if (eq == std::string::npos) continue;
      const std::string key = Trim(parts[i].substr(0, eq));
      const std::string val = Trim(parts[i].substr(eq + 1));
      if (key == "as") as = val;
      if (key == "g") g = val;
      if (key == "v") v = val;
    }
    if (as.empty()) return std::nullopt;  // plain JSON (or */*) is acceptable first
    if (as == "Table" && g == "meta.k8s.io" && (v == "v1" || v == "v1beta1") &&
        (parts[0] == "application/json" || parts[0] == "*/*")) {
      return v;
    }
    // Other transformations (PartialObjectMetadata, protobuf Tables): try the next range.
  }
  return std::nullopt;
}

std::string HumanDuration(std::chrono::seconds d) {
  const int64_t seconds = d.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  const int64_t minutes = seconds / 60;
  if (minutes < 10) {
    const int64_t s = seconds % 60;
    return s == 0 ? std::to_string(minutes) + "m" : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const int64_t hours = minutes / 60;
  if (hours < 8) {
    const int64_t m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h" : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    const int64_t h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d"
                  : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const int64_t dy = (hours / 24) % 365;
    return dy == 0 ? std::to_string(hours / 24 / 365) + "y"
                   : std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::optional<json> EvalSimpleJsonPath(const json& object, const std::string& path) {
  std::string p = path;
  if (p.size() >= 2 && p.front() == '{' && p.back() == '}') p = p.substr(1, p.size() - 2);
  const json* cur = &object;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '.') {
      ++i;
      size_t end = i;
      while (end < p.size() && p[end] != '.' && p[end] != '[') ++end;
      const std::string key = p.substr(i, end - i);
      i = end;
      if (key.empty()) continue;
      if (!cur->is_object()) return std::nullopt;
      auto it = cur->find(key);
      if (it == cur->end()) return std::nullopt;
      cur = &*it;
    } else if (p[i] == '[') {
      const auto close = p.find(']', i);
      if (close == std::string::npos) return std::nullopt;
      const std::string inner = p.substr(i + 1, close - i - 1);
      i = close + 1;
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"')) {
        const std::string key = inner.substr(1, inner.size() - 2);
        if (!cur->is_object() || !cur->contains(key)) return std::nullopt;
        cur = &(*cur)[key];
        continue;
      }
      if (!cur->is_array() || inner.empty()) return std::nullopt;
      long idx = 0;
      try {
        idx = std::stol(inner);
      } catch (...) {
        return std::nullopt;
      }
      if (idx < 0) idx += static_cast<long>(cur->size());
      if (idx < 0 || static_cast<size_t>(idx) >= cur->size()) return std::nullopt;
      cur = &(*cur)[static_cast<size_t>(idx)];
    } else {
      return std::nullopt;
    }
  }
  return *cur;
}

json BuildTable(const ResourceType& type, const std::vector<const json*>& objects,
                const std::string& table_version, const std::string& include_object, json list_metadata,
                std::chrono::system_clock::time_point now) {
  json columns = json::array({{{"name", "Name"},
                               {"type", "string"},
                               {"format", "name"},
                               {"description", kNameDescription},
                               {"priority", 0}}});
  json printer = type.custom ? type.printer_columns
                             : json::array({{{"name", "Age"},
                                             {"type", "date"},
                                             {"jsonPath", ".metadata.creationTimestamp"},
                                             {"description", kAgeDescription}}});
  for (const auto& c : printer) {
    columns.push_back({{"name", c.value("name", "")},
                       {"type", c.value("type", "string")},
                       {"format", c.value("format", "")},
                       {"description", c.value("description", "")},
                       {"priority", c.value("priority", 0)}});
  }
  json rows = json::array();
  for (const json* o : objects) {
    json cells = json::array({(*o)["metadata"].value("name", "")});
    for (const auto& c : printer) cells.push_back(Cell(c, *o, now));
    json row = {{"cells", std::move(cells)}};
    if (include_object == "Object") {
      row["object"] = *o;
      if (!row["object"].contains("kind")) row["object"]["kind"] = type.kind;
      if (!row["object"].contains("apiVersion")) row["object"]["apiVersion"] = type.api_version();
    } else if (include_object != "None") {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/" + table_version},
                       {"metadata", (*o)["metadata"]}};
    }
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/" + table_version},
          {"metadata", std::move(list_metadata)},
          {"columnDefinitions", std::move(columns)},
          {"rows", std::move(rows)}};
}

}  // namespace kubesync::emulator
