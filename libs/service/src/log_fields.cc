#include "kubesync/service/log_fields.h"

namespace kubesync::service {

namespace {

void CopyString(const nlohmann::json& from, const char* key, nlohmann::json& to, const char* as) {
  auto it = from.find(key);
  if (it != from.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) to[as] = *it;
}

}  // namespace

nlohmann::json ObjectRef(const plan::Gvr& gvr, const nlohmann::json& object) {
  nlohmann::json ref = {{"apiGroup", gvr.group}, {"apiVersion", gvr.version}, {"resource", gvr.resource}};
  if (object.is_object()) {
    auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) {
      CopyString(*meta, "name", ref, "name");
      CopyString(*meta, "namespace", ref, "namespace");
      CopyString(*meta, "resourceVersion", ref, "resourceVersion");
      CopyString(*meta, "uid", ref, "uid");
    }
  }
  return ref;
}

nlohmann::json ObjectRef(const proto::Event& e) {
  nlohmann::json ref = {{"apiGroup", e.gvr.group},
                        {"apiVersion", e.gvr.version},
                        {"resource", e.gvr.resource},
                        {"name", e.name}};
  if (!e.namespace_.empty()) ref["namespace"] = e.namespace_;
  if (!e.resource_version.empty()) ref["resourceVersion"] = e.resource_version;
  if (!e.uid.empty()) ref["uid"] = e.uid;
  return ref;
}

nlohmann::json ClusterRef(std::string_view name, std::string_view namespace_name) {
  nlohmann::json ref = {{"name", name}};
  if (!namespace_name.empty()) ref["namespace"] = namespace_name;
  return ref;
}

nlohmann::json EventField(proto::EventType type) {
  switch (type) {
    case proto::EventType::kAdded:
    case proto::EventType::kResync: return EventField("create");
    case proto::EventType::kModified: return EventField("update");
    case proto::EventType::kDeleted:
    case proto::EventType::kDeleteRequest: return EventField("delete");
  }
  return EventField("update");
}

nlohmann::json EventField(std::string_view type) { return {{"type", type}}; }

nlohmann::json LastUpdate(const nlohmann::json& object) {
  const nlohmann::json* annotations = nullptr;
  if (object.is_object()) {
    auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) {
      auto a = meta->find("annotations");
      if (a != meta->end() && a->is_object()) annotations = &*a;
    }
  }
  if (annotations == nullptr) return nullptr;
  nlohmann::json out = nlohmann::json::object();
  CopyString(*annotations, "audit.astronetes.io/last-update-time", out, "time");
  CopyString(*annotations, "audit.astronetes.io/last-update-user-uid", out, "userUID");
  CopyString(*annotations, "audit.astronetes.io/last-update-username", out, "username");
  return out.empty() ? nlohmann::json(nullptr) : out;
}

}  // namespace kubesync::service
