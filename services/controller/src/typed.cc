#include "typed.h"

namespace kubesync::controller {

using nlohmann::json;

namespace {

std::string TypeName(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

Status WrongType(std::string_view path, std::string_view want, const json& got) {
  return InvalidArgumentError(std::string(path) + ": must be " + std::string(want) + ", got " +
                              TypeName(got));
}

}  // namespace

const json* FieldAt(const json& object, std::string_view path) {
  const json* at = &object;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part(
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return at;
}

Result<std::optional<std::string>> ReadString(const json& object, std::string_view path) {
  const json* v = FieldAt(object, path);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(path, "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<bool>> ReadBool(const json& object, std::string_view path) {
  const json* v = FieldAt(object, path);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(path, "a boolean", *v);
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<int64_t>> ReadInt(const json& object, std::string_view path) {
  const json* v = FieldAt(object, path);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  if (!v->is_number_integer()) return WrongType(path, "an integer", *v);
  return std::optional<int64_t>(v->get<int64_t>());
}

std::string StringOr(const json& object, std::string_view path, std::string fallback) {
  const json* v = FieldAt(object, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

int64_t IntOr(const json& object, std::string_view path, int64_t fallback) {
  const json* v = FieldAt(object, path);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

}  // namespace kubesync::controller
