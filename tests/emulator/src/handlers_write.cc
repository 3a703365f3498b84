// POST (create), PUT (update) and PATCH, including the /status and /scale subresources.
#include "crd_schema.h"
#include "kubesync/emulator/patch.h"
#include "objects.h"
#include "server.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

constexpr int kMaxRetries = 100;

std::optional<nlohmann::json> ParseBody(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

ApiError BadBody(const ResourceType& type) {
  return BadRequest("the body of the request was not a valid " + type.kind + " JSON object");
}

std::string MediaType(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct;
}

bool Terminated(const nlohmann::json& obj) {
  const auto& md = obj["metadata"];
  return md.contains("deletionTimestamp") &&
         (!md.contains("finalizers") || !md["finalizers"].is_array() || md["finalizers"].empty());
}

ApiError PatchError(const ResourceType& type, const std::string& name, const Status& st) {
  if (st.code() == Code::kUnimplemented)
    return UnsupportedMediaType("application/strategic-merge-patch+json");
  ApiError e{422, "Invalid", st.message(), name, type.group, type.kind};
  return e;
}

// Custom resources go through the apiextensions decode step (prune or refuse unknown
// fields, default, validate against the CRD's openAPIV3Schema); unknown fields dropped in
// Warn mode become `Warning: 299` headers, which kubectl prints.
std::optional<ApiError> DecodeCustom(const ResourceType& type, const httplib::Request& req, bool patch,
                                     nlohmann::json& obj, httplib::Response& res) {
  if (!type.custom || !type.schema) return std::nullopt;
  const std::string directive =
      req.has_param("fieldValidation") ? req.get_param_value("fieldValidation") : "";
  const auto mode = ParseFieldValidation(directive);
  if (!mode) {
    return BadRequest("fieldValidation: Unsupported value: \"" + directive +
                      "\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"");
  }
  std::vector<std::string> warnings;
  auto error =
      DecodeCustomResource(*type.schema, type.group, type.version, type.kind, *mode, patch, obj, &warnings);
  for (const auto& w : warnings) {
    nlohmann::json quoted = w;
    res.set_header("Warning", "299 - " + quoted.dump());
  }
  return error;
}

// Server-side apply converts the patch to a typed object first, whatever fieldValidation
// says; a field the CRD schema does not declare fails there with a plain error, which the
// apiserver answers as a 500 without reason (managedfields/internal/structuredmerge.go,
// kubernetes#122480).
std::optional<ApiError> UndeclaredInApplyPatch(const ResourceType& type, const std::string& ns,
                                               const std::string& name, const nlohmann::json& patch) {
  nlohmann::json copy = patch;
  const auto unknown = PruneUnknownFields(*type.schema, copy);
  if (unknown.empty()) return std::nullopt;
  std::string detail;
  if (unknown.size() == 1) {
    detail = "." + unknown[0] + ": field not declared in schema";
  } else {
    detail = "errors:";
    for (const auto& f : unknown) detail += "\n  ." + f + ": field not declared in schema";
  }
  ApiError e{500, "",
             "failed to create typed patch object (" + ns + "/" + name + "; " + type.api_version() +
                 ", Kind=" + type.kind + "): " + detail};
  return e;
}

}  // namespace

ApiServer::WriteResult ApiServer::CommitWrite(const ResourceType& type, const std::string& ns,
                                              const std::string& name, const ObjectRef& expected,
                                              std::optional<nlohmann::json> object) {
  const bool deleting = !object.has_value();
  std::optional<nlohmann::json> crd_copy;
  const bool is_crd = type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions";
  if (is_crd && object) crd_copy = *object;
  auto event = store_.Commit(type.group_resource(), ns, name, expected, std::move(object));
  if (!event) return {true, nullptr};
  if (journal_) journal_->Append(*event);
  if (is_crd) {
    if (deleting) {
      registry_.RemoveCrd(name);
    } else {
      registry_.AddCrd(*crd_copy);
    }
  }
  return {false, event};
}

void ApiServer::Create(Call& call) {
  const ResourceType& type = *call.type;
  auto body = ParseBody(call.req.body);
  if (!body) return ReplyError(call.res, BadBody(type));
  if (type.namespaced) {
    if (auto e = CheckNamespaceWritable(call.ns)) return ReplyError(call.res, *e);
  }
  const std::string now = Now();
  auto prepared = PrepareCreate(type, std::move(*body), call.ns, now);
  if (std::holds_alternative<ApiError>(prepared)) return ReplyError(call.res, std::get<ApiError>(prepared));
  nlohmann::json obj = std::get<nlohmann::json>(std::move(prepared));
  if (auto e = DecodeCustom(type, call.req, false, obj, call.res)) return ReplyError(call.res, *e);
  const std::string name = obj["metadata"]["name"];
  RecordUpdateManagedFields(obj, std::nullopt, Manager(call.req), type.api_version(), "", now);
  if (store_.Get(type.group_resource(), call.ns, name)) {
    return ReplyError(call.res, AlreadyExists(type.group, type.resource, name));
  }
  if (IsDryRun(call.req)) return ReplyJson(call.res, 201, obj);
  auto written = CommitWrite(type, call.ns, name, nullptr, std::move(obj));
  if (written.raced) return ReplyError(call.res, AlreadyExists(type.group, type.resource, name));
  ReplyBytes(call.res, 201, written.event->ObjectBytes());
}

void ApiServer::Update(Call& call) {
  const ResourceType& type = *call.type;
  auto body = ParseBody(call.req.body);
  if (!body) return ReplyError(call.res, BadBody(type));
  const std::string manager = Manager(call.req);
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    auto cur = store_.Get(type.group_resource(), call.ns, call.name);
    if (!cur) return ReplyError(call.res, NotFound(type.group, type.resource, call.name));
    auto prepared = call.sub == "scale" ? FromScale(type, *cur, *body)
                                        : PrepareUpdate(type, *cur, *body, call.sub, call.name, type.custom);
    if (std::holds_alternative<ApiError>(prepared)) return ReplyError(call.res, std::get<ApiError>(prepared));
    nlohmann::json obj = std::get<nlohmann::json>(std::move(prepared));
    if (call.sub != "scale") {
      if (auto e = DecodeCustom(type, call.req, false, obj, call.res)) return ReplyError(call.res, *e);
    }
    auto reply = [&](const nlohmann::json& o) {
      call.sub == "scale" ? ReplyJson(call.res, 200, ToScale(type, o)) : ReplyJson(call.res, 200, o);
    };
    if (SameContent(*cur, obj)) return reply(*cur);
    RecordUpdateManagedFields(obj, *cur, manager, call.sub == "scale" ? "autoscaling/v1" : type.api_version(),
                              call.sub, Now());
    if (IsDryRun(call.req)) return reply(obj);
    const bool finish = Terminated(obj);
    nlohmann::json answer = obj;
    auto written =
        CommitWrite(type, call.ns, call.name, cur, finish ? std::nullopt : std::optional(std::move(obj)));
    if (written.raced) continue;
    if (finish || call.sub == "scale") return reply(finish ? answer : *written.event->object);
    return ReplyBytes(call.res, 200, written.event->ObjectBytes());
  }
  ReplyError(call.res, Conflict(type.group, type.resource, call.name, "too many concurrent writers"));
}

void ApiServer::Patch(Call& call) {
  const ResourceType& type = *call.type;
  const std::string media = MediaType(call.req);
  const bool apply = media == "application/apply-patch+yaml";
  std::optional<nlohmann::json> patch;
  if (apply) {
    std::string err;
    patch = YamlToJson(call.req.body, &err);
    if (!patch || !patch->is_object()) return ReplyError(call.res, BadRequest("error decoding YAML: " + err));
  } else if (media == "application/json-patch+json" || media == "application/merge-patch+json" ||
             media == "application/strategic-merge-patch+json") {
    auto j = nlohmann::json::parse(call.req.body, nullptr, false);
    if (j.is_discarded()) return ReplyError(call.res, BadRequest("error decoding patch: invalid JSON"));
    patch = std::move(j);
  } else {
    return ReplyError(call.res, UnsupportedMediaType(media));
  }
  if (media == "application/strategic-merge-patch+json" && type.custom) {
    return ReplyError(call.res, UnsupportedMediaType(media));
  }
  const std::string manager = Manager(call.req);
  if (apply && !call.req.has_param("fieldManager")) {
    return ReplyError(call.res,
                      BadRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set"));
  }
  if (apply && type.custom && type.schema && call.sub.empty()) {
    if (auto e = UndeclaredInApplyPatch(type, call.ns, call.name, *patch)) return ReplyError(call.res, *e);
  }
  const TypeRef ref{type.group, type.version, type.kind};
  const TypeRef scale_ref{"autoscaling", "v1", "Scale"};
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    const std::string now = Now();
    auto cur = store_.Get(type.group_resource(), call.ns, call.name);
    if (!cur && !(apply && call.sub.empty())) {
      return ReplyError(call.res, NotFound(type.group, type.resource, call.name));
    }
    if (!cur) {
      // Server-side apply creates a missing object.
      if (type.namespaced) {
        if (auto e = CheckNamespaceWritable(call.ns)) return ReplyError(call.res, *e);
      }
      auto outcome = ServerSideApply(std::nullopt, *patch, ref, {manager, QueryBool(call.req, "force"), now});
      if (!outcome.ok()) return ReplyError(call.res, PatchError(type, call.name, outcome.status()));
      nlohmann::json obj = std::move(outcome->object);
      nlohmann::json managed = obj["metadata"].value("managedFields", nlohmann::json::array());
      if (!obj["metadata"].contains("name")) obj["metadata"]["name"] = call.name;
      auto prepared = PrepareCreate(type, std::move(obj), call.ns, now);
      if (std::holds_alternative<ApiError>(prepared))
        return ReplyError(call.res, std::get<ApiError>(prepared));
      obj = std::get<nlohmann::json>(std::move(prepared));
      if (auto e = DecodeCustom(type, call.req, true, obj, call.res)) return ReplyError(call.res, *e);
      obj["metadata"]["managedFields"] = std::move(managed);
      if (IsDryRun(call.req)) return ReplyJson(call.res, 201, obj);
      auto written = CommitWrite(type, call.ns, call.name, nullptr, std::move(obj));
      if (written.raced) continue;
      return ReplyBytes(call.res, 201, written.event->ObjectBytes());
    }
    const nlohmann::json base = call.sub == "scale" ? ToScale(type, *cur) : *cur;
    const TypeRef& target_ref = call.sub == "scale" ? scale_ref : ref;
    Result<nlohmann::json> patched = nlohmann::json();
    bool managed_done = false;
    if (media == "application/json-patch+json") {
      patched = ApplyJsonPatch(base, *patch);
    } else if (media == "application/merge-patch+json") {
      patched = ApplyMergePatch(base, *patch);
    } else if (media == "application/strategic-merge-patch+json") {
      patched = HasStrategicSchema(target_ref) ? ApplyStrategicMergePatch(base, *patch, target_ref)
                                               : ApplyMergePatch(base, *patch);
    } else {
      auto outcome = ServerSideApply(base, *patch, target_ref, {manager, QueryBool(call.req, "force"), now});
      if (!outcome.ok()) return ReplyError(call.res, PatchError(type, call.name, outcome.status()));
      if (!outcome->conflicts.empty()) {
        ApiError e{409, "Conflict", "", call.name, type.group, type.resource};
        std::string msg = "Apply failed with " + std::to_string(outcome->conflicts.size()) + " conflict" +
                          (outcome->conflicts.size() > 1 ? "s" : "") + ":";
        for (const auto& c : outcome->conflicts) {
          msg += " conflict with \"" + c.manager + "\": " + c.field;
          e.causes.push_back({"FieldManagerConflict", "conflict with \"" + c.manager + "\"", c.field});
        }
        e.message = msg;
        return ReplyError(call.res, e);
      }
      patched = std::move(outcome->object);
      managed_done = true;
    }
    if (!patched.ok()) return ReplyError(call.res, PatchError(type, call.name, patched.status()));
    auto prepared = call.sub == "scale"
                        ? FromScale(type, *cur, *patched)
                        : PrepareUpdate(type, *cur, std::move(*patched), call.sub, call.name, false);
    if (std::holds_alternative<ApiError>(prepared)) return ReplyError(call.res, std::get<ApiError>(prepared));
    nlohmann::json obj = std::get<nlohmann::json>(std::move(prepared));
    if (call.sub != "scale") {
      if (auto e = DecodeCustom(type, call.req, true, obj, call.res)) return ReplyError(call.res, *e);
    }
    if (call.sub == "scale" && managed_done) {
      managed_done = false;  // the Scale's managedFields do not belong on the object
      obj["metadata"]["managedFields"] = (*cur)["metadata"].value("managedFields", nlohmann::json::array());
    }
    auto reply = [&](const nlohmann::json& o) {
      call.sub == "scale" ? ReplyJson(call.res, 200, ToScale(type, o)) : ReplyJson(call.res, 200, o);
    };
    if (SameContent(*cur, obj)) return reply(*cur);
    if (!managed_done) {
      RecordUpdateManagedFields(obj, *cur, manager,
                                call.sub == "scale" ? "autoscaling/v1" : type.api_version(), call.sub, now);
    }
    if (IsDryRun(call.req)) return reply(obj);
    const bool finish = Terminated(obj);
    nlohmann::json answer = obj;
    auto written =
        CommitWrite(type, call.ns, call.name, cur, finish ? std::nullopt : std::optional(std::move(obj)));
    if (written.raced) continue;
    if (finish || call.sub == "scale") return reply(finish ? answer : *written.event->object);
    return ReplyBytes(call.res, 200, written.event->ObjectBytes());
  }
  ReplyError(call.res, Conflict(type.group, type.resource, call.name, "too many concurrent writers"));
}

}  // namespace kubesync::emulator
