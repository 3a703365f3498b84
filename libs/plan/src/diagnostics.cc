#include "diagnostics.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace kubesync::plan::internal {

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string Index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return std::string("the boolean ") + (v.get<bool>() ? "true" : "false");
    case json::value_t::string:
      return "the string " + Quote(v.get_ref<const std::string&>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "the number " + v.dump();
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> Closest(std::string_view name, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    if (c == name) continue;
    // Typo budget grows with the length of the name: 1 edit for short names, up to 3.
    const std::size_t budget = c.size() <= 4 ? 1 : c.size() <= 8 ? 2 : 3;
    const std::size_t d = EditDistance(name, c);
    if (d <= budget && (!best || d < best_distance)) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

const json* Find(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void Diagnostics::CheckFields(const json& obj, std::string_view path, const std::vector<std::string>& known,
                              const std::map<std::string, std::string>& hints) {
  if (!obj.is_object()) return;
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown field";
    if (auto h = hints.find(key); h != hints.end()) {
      message += " (" + h->second + ")";
    } else if (auto c = Closest(key, known)) {
      message += " (did you mean " + *c + "?)";
    } else {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      message += " (known fields: " + list + ")";
    }
    Error(Join(path, key), message);
  }
}

std::optional<std::string> Diagnostics::String(const json& obj, std::string_view key, std::string_view path,
                                               bool required) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) Error(Join(path, key), "required field is missing");
    return std::nullopt;
  }
  if (!v->is_string()) {
    Error(Join(path, key), "must be a string (got " + Describe(*v) + ")");
    return std::nullopt;
  }
  if (required && v->get_ref<const std::string&>().empty()) {
    Error(Join(path, key), "must not be empty");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<bool> Diagnostics::Bool(const json& obj, std::string_view key, std::string_view path,
                                      bool required) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) Error(Join(path, key), "required field is missing");
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    std::string hint;
    if (v->is_string() && (*v == "true" || *v == "false")) hint = " (write it without quotes)";
    Error(Join(path, key), "must be a boolean, true or false (got " + Describe(*v) + ")" + hint);
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<int64_t> Diagnostics::Int(const json& obj, std::string_view key, std::string_view path,
                                        bool required, int64_t min, int64_t max) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) Error(Join(path, key), "required field is missing");
    return std::nullopt;
  }
  if (!v->is_number_integer()) {
    Error(Join(path, key), "must be an integer (got " + Describe(*v) + ")");
    return std::nullopt;
  }
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    Error(Join(path, key), "must be at most " + std::to_string(max) + " (got " + v->dump() + ")");
    return std::nullopt;
  }
  const int64_t n = v->get<int64_t>();
  if (n < min || n > max) {
    Error(Join(path, key), "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                               " (got " + std::to_string(n) + ")");
    return std::nullopt;
  }
  return n;
}

const json* Diagnostics::Object(const json& obj, std::string_view key, std::string_view path, bool required) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) Error(Join(path, key), "required field is missing");
    return nullptr;
  }
  if (!v->is_object()) {
    Error(Join(path, key), "must be an object (got " + Describe(*v) + ")");
    return nullptr;
  }
  return v;
}

const json* Diagnostics::List(const json& obj, std::string_view key, std::string_view path, bool required) {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    if (required) Error(Join(path, key), "required field is missing");
    return nullptr;
  }
  if (!v->is_array()) {
    Error(Join(path, key), "must be a list (got " + Describe(*v) + ")");
    return nullptr;
  }
  return v;
}

}  // namespace kubesync::plan::internal
