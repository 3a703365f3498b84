#include "processor.h"

#include <algorithm>
#include <utility>

#include "kubesync/bus/subjects.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"

namespace kubesync::processor {
namespace {

using nlohmann::json;

plan::Gvr ToPlanGvr(const proto::Gvr& g) { return {g.group, g.version, g.resource}; }

const json& Member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string StringMember(const json& object, const char* key) {
  const json& v = Member(object, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

}  // namespace

Processor::Processor(const plan::Plan& plan, ProcessorConfig config, SourceView& source, RecordsFn records,
                     log::Logger logger, json source_cluster)
    : plan_(plan),
      config_(std::move(config)),
      source_(source),
      records_(std::move(records)),
      logger_(std::move(logger)),
      source_cluster_(std::move(source_cluster)) {
  namespace_selectors_ = std::any_of(plan_.rules.begin(), plan_.rules.end(),
                                     [](const plan::Rule& r) { return !r.namespace_selector.Empty(); });
  namespaces_in_plan_ = InPlan(kNamespacesGvr);
}

std::string Processor::MessageId(const proto::Event& event, std::string_view suffix) {
  std::string who = event.uid;
  if (who.empty()) who = kube::ObjectKey(event.namespace_, event.name);
  // "sync/" keeps it apart from the events message's own "<uid>/<rv>/<TYPE>": both live in
  // one stream, whose duplicate window would otherwise drop the sync message.
  std::string id = "sync/" + who + "/" + event.resource_version + "/" + std::string(proto::EventTypeName(event.type));
  if (!suffix.empty()) id += "/" + std::string(suffix);
  return id;
}

bool Processor::ReadsNamespaceLabels(const plan::Plan& plan) {
  return plan.force_namespace_creation || std::any_of(plan.rules.begin(), plan.rules.end(), [](const plan::Rule& r) {
           return !r.namespace_selector.Empty() || r.gvr == kNamespacesGvr;
         });
}

bool Processor::InPlan(const plan::Gvr& gvr) const {
  return std::any_of(plan_.rules.begin(), plan_.rules.end(), [&](const plan::Rule& r) { return r.gvr == gvr; });
}

Result<Outgoing> Processor::Route(proto::Event event, std::string_view msg_suffix) {
  const int partition = bus::Partition(proto::ObjectKey(event), config_.partitions);
  KS_ASSIGN_OR_RETURN(std::string subject, bus::SyncSubject(config_.id, partition));
  Outgoing out;
  out.subject = std::move(subject);
  out.msg_id = MessageId(event, msg_suffix);
  out.event = std::move(event);
  return out;
}

Result<Outgoing> Processor::Deleted(const proto::Event& event, std::string_view msg_suffix) {
  proto::Event del = event;
  if (del.type != proto::EventType::kDeleteRequest) del.type = proto::EventType::kDeleted;
  del.object_json.clear();
  del.old_object_json.clear();
  del.content_hash.clear();
  del.live_synchronization_id = config_.id;
  return Route(std::move(del), msg_suffix);
}

Result<std::vector<Outgoing>> Processor::Process(const proto::Event& event_in) {
  // Events without a source epoch (the reconciler's, which lists the source as it is now)
  // belong to the newest epoch seen: their resourceVersions are the current source's.
  proto::Event event = event_in;
  if (event.source_epoch > 0) {
    uint64_t seen = latest_epoch_.load();
    while (event.source_epoch > seen && !latest_epoch_.compare_exchange_weak(seen, event.source_epoch)) {
    }
  } else {
    event.source_epoch = latest_epoch_.load();
  }
  std::vector<Outgoing> out;
  const plan::Gvr gvr = ToPlanGvr(event.gvr);
  const bool in_plan = InPlan(gvr);
  const bool is_namespace = gvr == kNamespacesGvr;

  if (plan_.IsDefaultExcluded(gvr, event.namespace_, event.name)) return out;
  // A new source cluster (issue 10 item 4): what the view remembers of the previous one
  // (namespace labels and versions) must not judge this one's objects.
  if (event.source_epoch > 0) KS_RETURN_IF_ERROR(source_.SourceEpoch(event.source_epoch));

  // A Namespace's labels changed: what its objects' namespace selectors say may change too.
  // Namespace events carry no old object (lean informers), so every MODIFIED re-evaluates.
  if (is_namespace && namespace_selectors_ && event.type == proto::EventType::kModified) {
    json ns_object = json::parse(event.object_json, nullptr, /*allow_exceptions=*/false);
    if (ns_object.is_discarded() || !ns_object.is_object()) {
      return InvalidArgumentError("envelope.object_json: not a JSON object");
    }
    KS_ASSIGN_OR_RETURN(out, ReevaluateNamespace(event, ns_object));
  }
  // What the reconciler sends was already decided against the plan: a DELETE_REQUEST may
  // name a copy of a resource the plan no longer has (its rule was removed), which only
  // the reconciler, listing the destination, can find. Its messages carry their own
  // Nats-Msg-Id suffix, so the stream's duplicate window never swallows a repair of an
  // object whose version went through before.
  const std::string suffix =
      event.verify_destination ? "reconcile-" + std::to_string(event.observed_at_unix_nanos) : std::string();
  if (event.type == proto::EventType::kDeleteRequest) {
    KS_ASSIGN_OR_RETURN(Outgoing del, Deleted(event, suffix));
    // The destination copy as the reconciler judged it (its uid and resourceVersion).
    del.event.object_json = event.object_json;
    out.push_back(std::move(del));
    return out;
  }
  if (!in_plan) return out;

  if (event.type == proto::EventType::kDeleted) {
    KS_ASSIGN_OR_RETURN(Outgoing del, Deleted(event, suffix));
    out.push_back(std::move(del));
    return out;
  }

  json object = json::parse(event.object_json, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) {
    return InvalidArgumentError("envelope.object_json: not a JSON object");
  }
  json namespace_labels;
  if (namespace_selectors_ && !event.namespace_.empty() && !is_namespace) {
    KS_ASSIGN_OR_RETURN(namespace_labels, source_.NamespaceLabels(event.namespace_));
  }
  KS_ASSIGN_OR_RETURN(std::optional<Outgoing> one,
                      ProcessObject(event, object, namespace_labels, Origin::kEvent, suffix));
  if (one.has_value()) out.push_back(std::move(*one));
  return out;
}

Result<std::optional<Outgoing>> Processor::ProcessObject(const proto::Event& event, const json& object_in,
                                                         const json& namespace_labels, Origin origin,
                                                         std::string_view msg_suffix) {
  const plan::Gvr gvr = ToPlanGvr(event.gvr);
  const json& labels = Member(Member(object_in, "metadata"), "labels");
  const plan::Rule* rule = plan_.MatchingRule(gvr, event.namespace_, event.name, labels, namespace_labels);
  if (rule == nullptr) {
    // Out of scope. A MODIFIED (or a namespace change) may have taken it out of scope:
    // remove a managed copy. For ADDED/RESYNC, only when the destination holds one, so a
    // resync of a large unselected population sends nothing.
    bool remove = event.type == proto::EventType::kModified || origin == Origin::kNamespaceChange;
    if (!remove && records_) {
      KS_ASSIGN_OR_RETURN(remove, records_(proto::ObjectKey(event)));
    }
    if (!remove) return std::optional<Outgoing>();
    if (origin == Origin::kEvent && event.type != proto::EventType::kModified && namespace_selectors_ &&
        !event.namespace_.empty()) {
      // Out of scope because of its namespace's labels, seen on a (re-)list: an unchanged
      // object carries the very resourceVersion the synchronizer recorded, so a DELETED at
      // it would be taken for a repeat. The decision is as new as the namespace version
      // it rests on (one revision counter across resources), as in ReevaluateNamespace.
      KS_ASSIGN_OR_RETURN(uint64_t ns_rv, source_.NamespaceVersion(event.namespace_));
      if (ns_rv > event.resource_version_number) {
        proto::Event bumped = event;
        bumped.resource_version_number = ns_rv;
        bumped.resource_version = std::to_string(ns_rv);
        KS_ASSIGN_OR_RETURN(Outgoing del, Deleted(bumped, msg_suffix));
        return std::optional<Outgoing>(std::move(del));
      }
    }
    KS_ASSIGN_OR_RETURN(Outgoing del, Deleted(event, msg_suffix));
    return std::optional<Outgoing>(std::move(del));
  }

  const transform::Decision decision = transform::Classify(object_in, gvr, config_.classify);
  if (!decision.copy()) {
    logger_.Debug("object skipped", {{"sourceObject", service::ObjectRef(gvr, object_in)},
                                     {"sourceCluster", source_cluster_},
                                     {"reason", transform::SkipReasonName(decision.skip)},
                                     {"detail", decision.detail}});
    return std::optional<Outgoing>();
  }

  json object = object_in;
  // List items carry no apiVersion/kind; the destination write needs both.
  if (!object.contains("apiVersion") || !object["apiVersion"].is_string()) {
    object["apiVersion"] = gvr.group.empty() ? gvr.version : gvr.group + "/" + gvr.version;
  }
  std::string kind = StringMember(object, "kind");
  if (kind.empty()) kind = event.kind;
  if (kind.empty()) {
    KS_ASSIGN_OR_RETURN(kind, source_.Kind(gvr));
  }
  object["kind"] = kind;

  std::string object_rv = kube::meta::ResourceVersion(object);
  if (object_rv.empty()) object_rv = event.resource_version;
  transform::MarkInfo mark{config_.ls_namespace, config_.ls_name, event.uid, object_rv};
  Result<transform::Prepared> prepared =
      transform::PrepareForDestination(object, gvr, rule->transformation, mark, config_.clean);
  if (!prepared.ok()) {
    logger_.Error("error transforming object", {{"sourceObject", service::ObjectRef(gvr, object)},
                                                {"sourceCluster", source_cluster_},
                                                {"rule", rule->source},
                                                {"error", prepared.status().ToString()}});
    return prepared.status();
  }
  proto::Event sync = event;
  sync.kind = kind;
  sync.object_json = prepared->object.dump();
  sync.old_object_json.clear();
  sync.content_hash = prepared->content_hash;
  sync.live_synchronization_id = config_.id;
  if ((namespaces_in_plan_ || plan_.force_namespace_creation) && !event.namespace_.empty()) {
    // The synchronizer may create this object's namespace: when forced, or when the
    // Namespace is replicated too (rather than wait for the Namespace's own message, which
    // can sit behind this one in its partition). It gets the source's labels, so that
    // namespace selectors, a recovery Task's among them, select alike on both sides.
    json ns_labels = namespace_labels;
    if (!namespace_selectors_) {
      KS_ASSIGN_OR_RETURN(ns_labels, source_.NamespaceLabels(event.namespace_));
    }
    if (namespaces_in_plan_) {
      sync.namespace_selected =
          plan_.MatchingRule(kNamespacesGvr, event.namespace_, event.namespace_, ns_labels, ns_labels) != nullptr;
    }
    if (ns_labels.is_object() && !ns_labels.empty()) sync.namespace_labels_json = ns_labels.dump();
  }
  KS_ASSIGN_OR_RETURN(Outgoing routed, Route(std::move(sync), msg_suffix));
  return std::optional<Outgoing>(std::move(routed));
}

Result<std::vector<Outgoing>> Processor::ReevaluateNamespace(const proto::Event& event, const json& ns_object) {
  std::vector<Outgoing> out;
  const std::string ns = event.name;
  const json& ns_labels = Member(Member(ns_object, "metadata"), "labels");
  // Messages born of this namespace version are told apart from the object's own ones, so
  // the stream's dedup window never swallows an object going out of scope and back.
  const std::string suffix = "ns-" + event.resource_version;
  for (const plan::Gvr& gvr : plan_.Resources()) {
    if (gvr == kNamespacesGvr) continue;
    KS_ASSIGN_OR_RETURN(bool namespaced, source_.Namespaced(gvr));
    if (!namespaced) continue;
    json resource_field = {{"apiGroup", gvr.group}, {"apiVersion", gvr.version}, {"resource", gvr.resource},
                           {"namespace", ns}};
    logger_.Debug("listing objects in cluster", {{"sourceCluster", source_cluster_}, {"sourceObject", resource_field}});
    Result<std::vector<json>> items = source_.ListInNamespace(gvr, ns);
    if (!items.ok()) {
      logger_.Error("error listing objects in cluster", {{"sourceCluster", source_cluster_},
                                                        {"sourceObject", resource_field},
                                                        {"error", items.status().ToString()}});
      return items.status();
    }
    logger_.Debug("listed objects in cluster",
                  {{"sourceCluster", source_cluster_}, {"sourceObject", resource_field}, {"count", items->size()}});
    for (const json& item : *items) {
      proto::Event obj_event;
      obj_event.type = proto::EventType::kResync;
      obj_event.gvr = {gvr.group, gvr.version, gvr.resource};
      obj_event.kind = StringMember(item, "kind");
      obj_event.namespace_ = ns;
      obj_event.name = kube::meta::Name(item);
      obj_event.uid = kube::meta::Uid(item);
      obj_event.resource_version = kube::meta::ResourceVersion(item);
      Result<uint64_t> rv = proto::ParseResourceVersion(obj_event.resource_version);
      if (!rv.ok() || obj_event.name.empty()) continue;
      if (plan_.IsDefaultExcluded(gvr, ns, obj_event.name)) continue;
      // The decision reflects the namespace at its new version, which is newer than the
      // object's own: resourceVersions are one etcd revision counter across resources. The
      // envelope carries the larger, so the synchronizer does not take a namespace-driven
      // delete (or return) of an unchanged object for a repeat of what it applied.
      obj_event.resource_version_number = std::max(*rv, event.resource_version_number);
      obj_event.resource_version = std::to_string(obj_event.resource_version_number);
      obj_event.observed_at_unix_nanos = event.observed_at_unix_nanos;
      obj_event.live_synchronization_id = config_.id;
      obj_event.source_epoch = event.source_epoch;
      obj_event.object_json = item.dump();
      Result<std::optional<Outgoing>> one =
          ProcessObject(obj_event, item, ns_labels, Origin::kNamespaceChange, suffix);
      if (!one.ok()) {
        if (one.status().IsRetryable()) return one.status();
        continue;  // one bad object (logged) must not block its namespace
      }
      if (one->has_value()) out.push_back(std::move(**one));
    }
  }
  return out;
}

}  // namespace kubesync::processor
