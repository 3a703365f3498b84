// DELETE (item and collection), finalizers, and the namespace lifecycle loop.
#include <set>
#include <thread>

#include "objects.h"
#include "server.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

bool Protected(const std::string& ns) {
  return ns == "default" || ns == "kube-system" || ns == "kube-public";
}

bool HasFinalizers(const nlohmann::json& obj) {
  const auto& md = obj["metadata"];
  return md.contains("finalizers") && md["finalizers"].is_array() && !md["finalizers"].empty();
}

}  // namespace

std::variant<ApiError, std::pair<ObjectRef, bool>> ApiServer::DeleteOne(const ResourceType& type,
                                                                        const std::string& ns,
                                                                        const std::string& name,
                                                                        const nlohmann::json& options,
                                                                        bool dry_run) {
  const bool is_namespace = type.group.empty() && type.resource == "namespaces";
  const bool is_crd = type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions";
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto cur = store_.Get(type.group_resource(), ns, name);
    if (!cur) return NotFound(type.group, type.resource, name);
    const auto& md = (*cur)["metadata"];
    if (options.contains("preconditions") && options["preconditions"].is_object()) {
      const auto& pre = options["preconditions"];
      const std::string uid = pre.value("uid", "");
      const std::string rv = pre.value("resourceVersion", "");
      if (!uid.empty() && uid != md.value("uid", "")) {
        return Conflict(type.group, type.resource, name,
                        "Precondition failed: UID in precondition: " + uid +
                            ", UID in object meta: " + md.value("uid", ""));
      }
      if (!rv.empty() && rv != md.value("resourceVersion", "")) {
        return Conflict(type.group, type.resource, name,
                        "Precondition failed: ResourceVersion in precondition: " + rv +
                            ", ResourceVersion in object meta: " + md.value("resourceVersion", ""));
      }
    }
    if (is_namespace && Protected(name)) {
      return Forbidden("", "namespaces", name, "this namespace may not be deleted");
    }
    if (md.contains("deletionTimestamp")) return std::pair{cur, false};
    if (is_namespace || HasFinalizers(*cur)) {
      nlohmann::json next = *cur;
      next["metadata"]["deletionTimestamp"] = Now();
      next["metadata"]["deletionGracePeriodSeconds"] = 0;
      if (is_namespace) next["status"]["phase"] = "Terminating";
      if (dry_run) return std::pair{std::make_shared<const nlohmann::json>(std::move(next)), false};
      auto written = CommitWrite(type, ns, name, cur, std::move(next));
      if (written.raced) continue;
      return std::pair{written.event->object, false};
    }
    if (dry_run) return std::pair{cur, true};
    if (is_crd) {
      // The CRD's custom resources go with it (apiextensions' CRD finalizer, done at once).
      const std::string group = (*cur)["spec"].value("group", "");
      const std::string plural = (*cur)["spec"]["names"].value("plural", "");
      const std::string gr = plural + "." + group;
      auto listed = store_.List(gr, "", 0, "", 0, nullptr);
      for (const auto& item : std::get<ListResult>(listed).items) {
        const auto& imd = (*item)["metadata"];
        auto ev = store_.Commit(gr, imd.value("namespace", ""), imd.value("name", ""), item, std::nullopt);
        if (ev && journal_) journal_->Append(*ev);
      }
    }
    auto written = CommitWrite(type, ns, name, cur, std::nullopt);
    if (written.raced) continue;
    return std::pair{written.event->object, true};
  }
  return Conflict(type.group, type.resource, name, "too many concurrent writers");
}

void ApiServer::Delete(Call& call) {
  const ResourceType& type = *call.type;
  nlohmann::json options = nlohmann::json::object();
  if (!call.req.body.empty()) {
    options = nlohmann::json::parse(call.req.body, nullptr, false);
    if (options.is_discarded() || !options.is_object()) {
      return ReplyError(call.res, BadRequest("the body of the request was not a valid DeleteOptions"));
    }
  }
  const bool dry_run = IsDryRun(call.req) || (options.contains("dryRun") && options["dryRun"].is_array() &&
                                              !options["dryRun"].empty());
  auto result = DeleteOne(type, call.ns, call.name, options, dry_run);
  if (std::holds_alternative<ApiError>(result)) return ReplyError(call.res, std::get<ApiError>(result));
  const auto& [obj, deleted] = std::get<std::pair<ObjectRef, bool>>(result);
  if (deleted && !type.delete_returns_object) {
    nlohmann::json details = {
        {"name", call.name}, {"kind", type.resource}, {"uid", (*obj)["metadata"].value("uid", "")}};
    if (!type.group.empty()) details["group"] = type.group;
    return ReplyJson(call.res, 200,
                     {{"kind", "Status"},
                      {"apiVersion", "v1"},
                      {"metadata", nlohmann::json::object()},
                      {"status", "Success"},
                      {"details", details}});
  }
  ReplyJson(call.res, 200, *obj);
}

void ApiServer::DeleteCollection(Call& call) {
  const ResourceType& type = *call.type;
  auto param = [&](const char* key) {
    std::string v = call.req.has_param(key) ? call.req.get_param_value(key) : "";
    for (auto& c : v) {
      if (c == '+') c = ' ';  // see SelectorParam in handlers_read.cc
    }
    return v;
  };
  auto filter = ParseFilter(param("labelSelector"), param("fieldSelector"), type.group_resource());
  if (std::holds_alternative<ApiError>(filter)) return ReplyError(call.res, std::get<ApiError>(filter));
  const Filter& f = std::get<Filter>(filter);
  nlohmann::json options = nlohmann::json::object();
  if (!call.req.body.empty()) {
    options = nlohmann::json::parse(call.req.body, nullptr, false);
    if (options.is_discarded() || !options.is_object()) options = nlohmann::json::object();
  }
  options.erase("preconditions");
  auto listed = store_.List(type.group_resource(), call.ns, 0, "", 0,
                            [&f](const nlohmann::json& o) { return f.Matches(o); });
  const auto& result = std::get<ListResult>(listed);
  std::string out = "{\"kind\":\"" + type.list_kind + "\",\"apiVersion\":\"" + type.api_version() +
                    "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(result.rv) + "\"},\"items\":[";
  bool first = true;
  for (const auto& item : result.items) {
    const auto& md = (*item)["metadata"];
    auto r = DeleteOne(type, md.value("namespace", ""), md.value("name", ""), options, IsDryRun(call.req));
    if (std::holds_alternative<ApiError>(r)) continue;
    if (!first) out += ',';
    first = false;
    AppendWithoutTypeMeta(out, *std::get<std::pair<ObjectRef, bool>>(r).first);
  }
  out += "]}";
  ReplyBytes(call.res, 200, std::move(out));
}

void ApiServer::FinishNamespace(const nlohmann::json& ns_obj) {
  const std::string ns = ns_obj["metadata"].value("name", "");
  bool remaining = false;
  std::set<std::string> seen;
  for (const auto& type : registry_.All()) {
    if (!type->namespaced || !seen.insert(type->group_resource()).second) continue;
    auto listed = store_.List(type->group_resource(), ns, 0, "", 0, nullptr);
    for (const auto& item : std::get<ListResult>(listed).items) {
      auto r = DeleteOne(*type, ns, (*item)["metadata"].value("name", ""), nlohmann::json::object(), false);
      if (std::holds_alternative<ApiError>(r) || !std::get<std::pair<ObjectRef, bool>>(r).second)
        remaining = true;
    }
  }
  if (remaining || HasFinalizers(ns_obj)) return;
  auto cur = store_.Get("namespaces", "", ns);
  if (!cur ||
      (*cur)["metadata"].value("resourceVersion", "") != ns_obj["metadata"].value("resourceVersion", "")) {
    return;
  }
  CommitWrite(*registry_.Find("", "v1", "namespaces"), "", ns, cur, std::nullopt);
}

void ApiServer::NamespaceLoop() {
  // The namespace controller: content of a Terminating namespace is deleted, then the
  // namespace itself once nothing (no finalizer) holds it.
  while (!stopping_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto listed = store_.List("namespaces", "", 0, "", 0, [](const nlohmann::json& o) {
      return o["metadata"].contains("deletionTimestamp");
    });
    for (const auto& ns : std::get<ListResult>(listed).items) FinishNamespace(*ns);
  }
}

}  // namespace kubesync::emulator
