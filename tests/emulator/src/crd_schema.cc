#include "crd_schema.h"

#include <cmath>
#include <re2/re2.h>

namespace kubesync::emulator {
namespace {

using nlohmann::json;

const json* Child(const json& schema, const char* key) {
  if (!schema.is_object()) return nullptr;
  auto it = schema.find(key);
  return it == schema.end() ? nullptr : &*it;
}

bool Flag(const json& schema, const char* key) {
  const json* v = Child(schema, key);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

// The schema of property `key` of an object described by `schema`: properties first, then
// an additionalProperties schema; nullptr when the field is not declared.
const json* PropertySchema(const json& schema, const std::string& key) {
  if (const json* props = Child(schema, "properties"); props != nullptr && props->is_object()) {
    auto it = props->find(key);
    if (it != props->end()) return &*it;
  }
  if (const json* ap = Child(schema, "additionalProperties"); ap != nullptr && ap->is_object()) return ap;
  return nullptr;
}

// additionalProperties: true keeps everything, like x-kubernetes-preserve-unknown-fields.
bool KeepsUnknown(const json& schema) {
  if (Flag(schema, "x-kubernetes-preserve-unknown-fields")) return true;
  const json* ap = Child(schema, "additionalProperties");
  return ap != nullptr && ap->is_boolean() && ap->get<bool>();
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

bool IsRootMeta(const std::string& path, const std::string& key) {
  return path.empty() && (key == "apiVersion" || key == "kind" || key == "metadata");
}

void Prune(const json& schema, json& value, const std::string& path, std::vector<std::string>& unknown) {
  if (value.is_object()) {
    const bool keep = KeepsUnknown(schema);
    const bool embedded = Flag(schema, "x-kubernetes-embedded-resource");
    for (auto it = value.begin(); it != value.end();) {
      const std::string key = it.key();
      if (IsRootMeta(path, key) ||
          (embedded && (key == "apiVersion" || key == "kind" || key == "metadata"))) {
        ++it;
        continue;
      }
      const json* sub = PropertySchema(schema, key);
      if (sub == nullptr) {
        if (keep) {
          ++it;
        } else {
          unknown.push_back(Join(path, key));
          it = value.erase(it);
        }
        continue;
      }
      // Nulls of non-nullable fields are dropped before defaulting (apiextensions 1.20+).
      if (it->is_null() && !Flag(*sub, "nullable")) {
        it = value.erase(it);
        continue;
      }
      Prune(*sub, *it, Join(path, key), unknown);
      ++it;
    }
  } else if (value.is_array()) {
    const json* items = Child(schema, "items");
    if (items == nullptr || !items->is_object()) return;
    for (size_t i = 0; i < value.size(); ++i) Prune(*items, value[i], Index(path, i), unknown);
  }
}

void Default(const json& schema, json& value) {
  if (value.is_object()) {
    if (const json* props = Child(schema, "properties"); props != nullptr && props->is_object()) {
      for (const auto& [key, sub] : props->items()) {
        if (value.contains(key)) continue;
        if (const json* d = Child(sub, "default")) value[key] = *d;
      }
    }
    for (auto& [key, child] : value.items()) {
      if (const json* sub = PropertySchema(schema, key)) Default(*sub, child);
    }
  } else if (value.is_array()) {
    const json* items = Child(schema, "items");
    if (items == nullptr || !items->is_object()) return;
    for (auto& element : value) Default(*items, element);
  }
}

// The JSON type name kube-openapi reports for a value.
std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    default:
      return "object";
  }
}

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") return IsInteger(v);
  if (type == "number") return v.is_number();
  return true;
}

// Go's %v of the bad value as field.Error prints it: strings quoted, the rest as JSON.
std::string ValueText(const json& v) { return v.dump(); }

std::string NumberText(const json& n) {
  if (IsInteger(n)) return std::to_string(static_cast<int64_t>(n.get<double>()));
  return n.dump();
}

void Validate(const json& schema, const json& value, const std::string& path, std::vector<Cause>& causes) {
  if (!schema.is_object()) return;
  if (value.is_null()) {
    if (Flag(schema, "nullable") || !schema.contains("type")) return;
    causes.push_back({"FieldValueTypeInvalid",
                      "Invalid value: \"null\": " + path + " in body must be of type " +
                          schema["type"].get<std::string>() + ": \"null\"",
                      path});
    return;
  }
  if (Flag(schema, "x-kubernetes-int-or-string")) {
    if (!IsInteger(value) && !value.is_string()) {
      causes.push_back({"FieldValueTypeInvalid",
                        "Invalid value: " + ValueText(value) + ": " + path +
                            " in body must be of type integer,string: \"" + TypeName(value) + "\"",
                        path});
      return;
    }
  } else if (const json* type = Child(schema, "type"); type != nullptr && type->is_string()) {
    if (!HasType(value, type->get<std::string>())) {
      causes.push_back({"FieldValueTypeInvalid",
                        "Invalid value: " + ValueText(value) + ": " + path + " in body must be of type " +
                            type->get<std::string>() + ": \"" + TypeName(value) + "\"",
                        path});
      return;
    }
  }
  if (const json* en = Child(schema, "enum"); en != nullptr && en->is_array()) {
    bool found = false;
    for (const auto& e : *en) found = found || e == value;
    if (!found) {
      std::string supported;
      for (const auto& e : *en) supported += (supported.empty() ? "" : ", ") + e.dump();
      causes.push_back({"FieldValueNotSupported",
                        "Unsupported value: " + ValueText(value) + ": supported values: " + supported, path});
    }
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (const json* min = Child(schema, "minimum"); min != nullptr && min->is_number()) {
      const bool exclusive = Flag(schema, "exclusiveMinimum");
      if (exclusive ? d <= min->get<double>() : d < min->get<double>()) {
        causes.push_back({"FieldValueInvalid",
                          "Invalid value: " + ValueText(value) + ": " + path +
                              " in body should be greater than " + (exclusive ? "" : "or equal to ") +
                              NumberText(*min),
                          path});
      }
    }
    if (const json* max = Child(schema, "maximum"); max != nullptr && max->is_number()) {
      const bool exclusive = Flag(schema, "exclusiveMaximum");
      if (exclusive ? d >= max->get<double>() : d > max->get<double>()) {
        causes.push_back({"FieldValueInvalid",
                          "Invalid value: " + ValueText(value) + ": " + path +
                              " in body should be less than " + (exclusive ? "" : "or equal to ") +
                              NumberText(*max),
                          path});
      }
    }
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (const json* min = Child(schema, "minLength"); min != nullptr && min->is_number_integer()) {
      if (static_cast<int64_t>(s.size()) < min->get<int64_t>()) {
        causes.push_back({"FieldValueInvalid",
                          "Invalid value: " + ValueText(value) + ": " + path +
                              " in body should be at least " + min->dump() + " chars long",
                          path});
      }
    }
    if (const json* max = Child(schema, "maxLength"); max != nullptr && max->is_number_integer()) {
      if (static_cast<int64_t>(s.size()) > max->get<int64_t>()) {
        causes.push_back(
            {"FieldValueTooLong", "Too long: may not be more than " + max->dump() + " bytes", path});
      }
    }
    if (const json* pattern = Child(schema, "pattern"); pattern != nullptr && pattern->is_string()) {
      // The real server matches with Go's regexp (RE2 syntax), unanchored.
      const RE2 re(pattern->get<std::string>(), RE2::Quiet);
      // A pattern that does not compile: the real server refuses such a CRD; here it is
      // simply not enforced.
      if (re.ok() && !RE2::PartialMatch(s, re)) {
        causes.push_back({"FieldValueInvalid",
                          "Invalid value: " + ValueText(value) + ": " + path + " in body should match '" +
                              pattern->get<std::string>() + "'",
                          path});
      }
    }
  }
  if (value.is_array()) {
    if (const json* min = Child(schema, "minItems"); min != nullptr && min->is_number_integer()) {
      if (static_cast<int64_t>(value.size()) < min->get<int64_t>()) {
        causes.push_back({"FieldValueInvalid",
                          "Invalid value: " + std::to_string(value.size()) + ": " + path +
                              " in body should have at least " + min->dump() + " items",
                          path});
      }
    }
    if (const json* max = Child(schema, "maxItems"); max != nullptr && max->is_number_integer()) {
      if (static_cast<int64_t>(value.size()) > max->get<int64_t>()) {
        causes.push_back(
            {"FieldValueTooMany",
             "Too many: " + std::to_string(value.size()) + ": must have at most " + max->dump() + " items",
             path});
      }
    }
    if (const json* items = Child(schema, "items"); items != nullptr && items->is_object()) {
      for (size_t i = 0; i < value.size(); ++i) Validate(*items, value[i], Index(path, i), causes);
    }
  }
  if (value.is_object()) {
    if (const json* required = Child(schema, "required"); required != nullptr && required->is_array()) {
      for (const auto& r : *required) {
        if (r.is_string() && !value.contains(r.get<std::string>())) {
          causes.push_back({"FieldValueRequired", "Required value", Join(path, r.get<std::string>())});
        }
      }
    }
    for (const auto& [key, child] : value.items()) {
      if (IsRootMeta(path, key)) continue;
      if (const json* sub = PropertySchema(schema, key)) Validate(*sub, child, Join(path, key), causes);
    }
  }
}

}  // namespace

std::optional<FieldValidation> ParseFieldValidation(const std::string& value) {
  if (value.empty() || value == "Warn") return FieldValidation::kWarn;
  if (value == "Ignore") return FieldValidation::kIgnore;
  if (value == "Strict") return FieldValidation::kStrict;
  return std::nullopt;
}

std::vector<std::string> PruneUnknownFields(const json& schema, json& object) {
  std::vector<std::string> unknown;
  Prune(schema, object, "", unknown);
  return unknown;
}

void ApplySchemaDefaults(const json& schema, json& object) { Default(schema, object); }

std::vector<Cause> ValidateAgainstSchema(const json& schema, const json& object) {
  std::vector<Cause> causes;
  Validate(schema, object, "", causes);
  return causes;
}

std::optional<ApiError> DecodeCustomResource(const json& schema, const std::string& group,
                                             const std::string& version, const std::string& kind,
                                             FieldValidation mode, bool patch, json& object,
                                             std::vector<std::string>* warnings) {
  const auto unknown = PruneUnknownFields(schema, object);
  if (!unknown.empty() && mode != FieldValidation::kIgnore) {
    // apiserver handlers (create.go/update.go: transformDecodeError; patch.go) with the
    // strict decoder's error list.
    std::string list;
    for (const auto& f : unknown)
      list += (list.empty() ? "" : ", ") + std::string("unknown field \"") + f + "\"";
    if (mode == FieldValidation::kStrict) {
      std::string message = "strict decoding error: " + list;
      if (!patch) {
        message = kind + " in version \"" + version + "\" cannot be handled as a " + kind + ": " + message;
      }
      return BadRequest(message);
    }
    if (warnings != nullptr) {
      for (const auto& f : unknown) warnings->push_back("unknown field \"" + f + "\"");
    }
  }
  ApplySchemaDefaults(schema, object);
  auto causes = ValidateAgainstSchema(schema, object);
  if (!causes.empty()) {
    const std::string name = object.contains("metadata") && object["metadata"].is_object()
                                 ? object["metadata"].value("name", "")
                                 : std::string();
    return Invalid(group, kind, name, std::move(causes));
  }
  return std::nullopt;
}

}  // namespace kubesync::emulator
