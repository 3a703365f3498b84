#include "field_set.h"

#include <algorithm>
#include <string_view>

#include "schema.h"

namespace kubesync::emulator::internal {
namespace {

using json = nlohmann::json;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string KeyElement(const std::string& merge_key, const json& value) {
  json key = json::object();
  key[merge_key] = value;
  return "k:" + key.dump();
}

void Collect(const json& v, const TypeRef& type, FieldPath& path, const std::string& sp, LeafMap& out) {
  if (v.is_object()) {
    if (v.empty()) {
      if (!path.empty()) out[path] = Leaf{&v, false};
      return;
    }
    for (const auto& [k, child] : v.items()) {
      if (child.is_null()) continue;
      path.push_back("f:" + k);
      Collect(child, type, path, SchemaChild(sp, k), out);
      path.pop_back();
    }
    return;
  }
  if (v.is_array() && !v.empty()) {
    const ListStrategy* strategy = FindListStrategy(type, sp);
    if (strategy != nullptr) {
      const std::string& key = strategy->merge_key;
      bool keyed = !key.empty() && std::all_of(v.begin(), v.end(), [&](const json& e) {
        return e.is_object() && e.contains(key);
      });
      bool primitive = key.empty() && std::all_of(v.begin(), v.end(), [](const json& e) {
                         return e.is_primitive() && !e.is_null();
                       });
      if (keyed) {
        for (const json& e : v) {
          path.push_back(KeyElement(key, e[key]));
          out[path] = Leaf{&e, true};
          Collect(e, type, path, SchemaElement(sp), out);
          path.pop_back();
        }
        return;
      }
      if (primitive) {
        for (const json& e : v) {
          path.push_back("v:" + e.dump());
          out[path] = Leaf{&e, false};
          path.pop_back();
        }
        return;
      }
    }
  }
  out[path] = Leaf{&v, false};  // scalar, empty list or atomic list
}

// The list element of `list` a "k:" or "v:" path element names.
json::iterator FindElement(json& list, const std::string& element) {
  if (!list.is_array()) return list.end();
  if (StartsWith(element, "v:")) {
    json value = json::parse(element.substr(2), nullptr, false);
    return std::find(list.begin(), list.end(), value);
  }
  json key = json::parse(element.substr(2), nullptr, false);
  if (!key.is_object()) return list.end();
  return std::find_if(list.begin(), list.end(), [&](const json& e) {
    if (!e.is_object()) return false;
    for (const auto& [k, want] : key.items()) {
      auto it = e.find(k);
      if (it == e.end() || *it != want) return false;
    }
    return true;
  });
}

json* Child(json& node, const std::string& element) {
  if (StartsWith(element, "f:")) {
    if (!node.is_object()) return nullptr;
    auto it = node.find(element.substr(2));
    return it == node.end() ? nullptr : &*it;
  }
  auto it = FindElement(node, element);
  return it == node.end() ? nullptr : &*it;
}

void Decode(const json& fields, FieldPath& path, FieldSet& out) {
  if (!fields.is_object()) return;
  if (fields.empty() && !path.empty()) {
    out.insert(path);
    return;
  }
  for (const auto& [k, child] : fields.items()) {
    if (k == ".") {
      if (!path.empty()) out.insert(path);
      continue;
    }
    path.push_back(k);
    Decode(child, path, out);
    path.pop_back();
  }
}

}  // namespace

json StripSystemFields(const json& object) {
  json out = object.is_object() ? object : json::object();
  out.erase("apiVersion");
  out.erase("kind");
  auto meta = out.find("metadata");
  if (meta != out.end() && meta->is_object()) {
    for (const char* f : {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                          "selfLink", "managedFields", "clusterName"}) {
      meta->erase(f);
    }
    if (meta->empty()) out.erase("metadata");
  }
  return out;
}

LeafMap CollectLeaves(const json& object, const TypeRef& type) {
  LeafMap out;
  FieldPath path;
  if (object.is_object()) {
    Collect(object, type, path, "", out);
  }
  out.erase(FieldPath{});
  return out;
}

FieldSet KeysOf(const LeafMap& leaves) {
  FieldSet out;
  for (const auto& [p, leaf] : leaves) out.insert(p);
  return out;
}

json EncodeFieldsV1(const FieldSet& set) {
  json root = json::object();
  for (const FieldPath& p : set) {
    json* node = &root;
    for (const std::string& e : p) node = &(*node)[e];
    if (node->is_null()) *node = json::object();
  }
  // A member that also has members below it is marked with ".".
  for (const FieldPath& p : set) {
    json* node = &root;
    for (const std::string& e : p) node = &(*node)[e];
    if (!node->empty()) (*node)["."] = json::object();
  }
  return root;
}

FieldSet DecodeFieldsV1(const json& fields) {
  FieldSet out;
  FieldPath path;
  Decode(fields, path, out);
  return out;
}

std::string FieldPathString(const FieldPath& path) {
  std::string out;
  for (const std::string& e : path) {
    if (StartsWith(e, "f:")) {
      out += "." + e.substr(2);
    } else if (StartsWith(e, "v:")) {
      out += "[=" + e.substr(2) + "]";
    } else if (StartsWith(e, "k:")) {
      json key = json::parse(e.substr(2), nullptr, false);
      out += "[";
      bool first = true;
      if (key.is_object()) {
        for (const auto& [k, v] : key.items()) {
          if (!first) out += ",";
          first = false;
          out += k + "=" + v.dump();
        }
      }
      out += "]";
    } else {
      out += "[" + e + "]";
    }
  }
  return out;
}

json* ResolveFieldPath(json& object, const FieldPath& path) {
  json* node = &object;
  for (const std::string& e : path) {
    node = Child(*node, e);
    if (node == nullptr) return nullptr;
  }
  return node;
}

bool RemoveFieldPath(json& object, const FieldPath& path) {
  if (path.empty()) return false;
  json* parent = ResolveFieldPath(object, FieldPath(path.begin(), path.end() - 1));
  if (parent == nullptr) return false;
  const std::string& last = path.back();
  if (StartsWith(last, "f:")) {
    return parent->is_object() && parent->erase(last.substr(2)) > 0;
  }
  auto it = FindElement(*parent, last);
  if (it == parent->end()) return false;
  parent->erase(it);
  return true;
}

}  // namespace kubesync::emulator::internal
