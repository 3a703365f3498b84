#include "kubesync/kube/object_meta.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;

const json& EmptyObject() {
  static const json kEmpty = json::object();
  return kEmpty;
}

const std::string& EmptyString() {
  static const std::string kEmpty;
  return kEmpty;
}

// object.<key> when it is an object, else {}.
const json& ObjectMember(const json& object, std::string_view key) {
  if (!object.is_object()) {
    return EmptyObject();
  }
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : EmptyObject();
}

// object.<key> when it is a string, else "".
const std::string& StringMember(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get_ref<const std::string&>() : EmptyString();
}

}  // namespace

std::string ObjectKey(const json& object) { return ObjectKey(meta::Namespace(object), meta::Name(object)); }

std::string ObjectKey(std::string_view namespace_name, std::string_view name) {
  std::string key;
  if (!namespace_name.empty()) {
    key.reserve(namespace_name.size() + 1 + name.size());
    key.append(namespace_name).append("/");
  }
  key.append(name);
  return key;
}

namespace meta {

const json& Metadata(const json& object) { return ObjectMember(object, "metadata"); }

const std::string& String(const json& object, std::string_view field) {
  return StringMember(Metadata(object), field);
}

const json& Labels(const json& object) { return ObjectMember(Metadata(object), "labels"); }

const json& Annotations(const json& object) { return ObjectMember(Metadata(object), "annotations"); }

const std::string& Label(const json& object, std::string_view key) {
  return StringMember(Labels(object), key);
}

const std::string& Annotation(const json& object, std::string_view key) {
  return StringMember(Annotations(object), key);
}

}  // namespace meta
}  // namespace kubesync::kube
