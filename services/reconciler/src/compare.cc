// The source side of a pass (what the plan selects, compared with the destination copies
// listed before), the deletes with their guard, and publishing.
#include <algorithm>
#include <cmath>
#include <thread>

#include "kubesync/core/backoff.h"
#include "kubesync/kube/discovery.h"
#include "kubesync/kube/errors.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/transform/classify.h"
#include "kubesync/transform/drift.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/pipeline.h"
#include "pass_internal.h"
#include "reconciler.h"

namespace kubesync::reconciler {
namespace {

using internal::Member;
using internal::ResourceField;
using internal::StringMember;
using nlohmann::json;

bool HasNamespaceSelector(const plan::Plan& plan) {
  return std::any_of(plan.rules.begin(), plan.rules.end(),
                     [](const plan::Rule& r) { return !r.namespace_selector.Empty(); });
}

void NoteSourceVersion(uint64_t& newest, const std::string& rv) {
  Result<uint64_t> number = proto::ParseResourceVersion(rv);
  if (number.ok()) newest = std::max(newest, *number);
}

}  // namespace

Status Reconciler::EnsureNamespaceLabels(Pass& pass) {
  if (pass.namespace_labels_listed || !HasNamespaceSelector(plan_)) return OkStatus();
  kube::ListOptions options;
  options.limit = config_.page_size;
  const json field = ResourceField(plan::Gvr{"", "v1", "namespaces"});
  logger_.Debug("listing objects in cluster", {{"sourceCluster", source_cluster_}, {"sourceObject", field}});
  while (true) {
    Result<kube::ListPage> page = source_.ListOnePage({"", "v1", "namespaces", "", "", ""}, options);
    if (!page.ok()) {
      logger_.Error(
          "error listing objects in cluster",
          {{"sourceCluster", source_cluster_}, {"sourceObject", field}, {"error", page.status().ToString()}});
      return page.status();
    }
    NoteSourceVersion(pass.source_rv, page->resource_version);
    for (const json& ns : page->items) {
      pass.namespace_labels[kube::meta::Name(ns)] = kube::meta::Labels(ns);
    }
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  logger_.Debug(
      "listed objects in cluster",
      {{"sourceCluster", source_cluster_}, {"sourceObject", field}, {"count", pass.namespace_labels.size()}});
  pass.namespace_labels_listed = true;
  return OkStatus();
}

void Reconciler::CompareSource(Pass& pass, Target& target) {
  const plan::Gvr& gvr = target.gvr;
  json field = ResourceField(gvr);
  auto fail = [&](std::string error) {
    target.judged = false;
    target.report.error = std::move(error);
  };
  if (!target.judged) return;  // the destination could not be listed
  if (Status labels = EnsureNamespaceLabels(pass); !labels.ok()) {
    return fail("listing the source's namespaces: " + labels.ToString());
  }

  logger_.Debug("reading resources for group version",
                {{"sourceCluster", source_cluster_}, {"sourceObject", field}});
  Result<kube::ApiResource> api = pass.source_discovery->Resolve(gvr.group, gvr.version, gvr.resource);
  if (!api.ok()) {
    if (kube::IsNotFound(api.status())) {
      logger_.Info(
          "resource group version not found",
          {{"sourceCluster", source_cluster_}, {"sourceObject", field}, {"error", api.status().message()}});
    } else {
      logger_.Error(
          "error reading resources for group version",
          {{"sourceCluster", source_cluster_}, {"sourceObject", field}, {"error", api.status().ToString()}});
    }
    // Nothing can be said about its copies: none is deleted.
    return fail("reading the source's discovery: " + api.status().ToString());
  }
  logger_.Debug("group resource version found",
                {{"sourceCluster", source_cluster_}, {"sourceObject", field}});

  const std::string api_version = gvr.group.empty() ? gvr.version : gvr.group + "/" + gvr.version;
  kube::ResourceRef ref{gvr.group, gvr.version, gvr.resource, "", "", ""};
  kube::ListOptions options;
  options.limit = config_.page_size;
  logger_.Debug("listing objects in cluster", {{"sourceCluster", source_cluster_}, {"sourceObject", field}});
  size_t listed = 0;
  while (true) {
    if (Cancelled(pass)) return;
    Result<kube::ListPage> page = source_.ListOnePage(ref, options);
    if (!page.ok()) {
      if (kube::IsNotFound(page.status())) {
        logger_.Info("list objects not found in cluster",
                     {{"sourceCluster", source_cluster_}, {"sourceObject", field}});
      } else {
        logger_.Error("error listing objects in cluster", {{"sourceCluster", source_cluster_},
                                                           {"sourceObject", field},
                                                           {"error", page.status().ToString()}});
      }
      return fail("listing the source: " + page.status().ToString());
    }
    NoteSourceVersion(pass.source_rv, page->resource_version);
    listed += page->items.size();
    for (const json& item : page->items) {
      if (Cancelled(pass)) return;
      const std::string ns = api->namespaced ? kube::meta::Namespace(item) : std::string();
      const std::string& name = kube::meta::Name(item);
      if (name.empty() || plan_.IsDefaultExcluded(gvr, ns, name)) continue;
      static const json kNoLabels;
      const json* ns_labels = &kNoLabels;
      if (!ns.empty()) {
        auto it = pass.namespace_labels.find(ns);
        if (it != pass.namespace_labels.end()) ns_labels = &it->second;
      }
      auto copy = target.copies.find(kube::ObjectKey(ns, name));
      Copy* existing = copy == target.copies.end() ? nullptr : &copy->second;
      if (existing != nullptr) existing->source_present = existing->source_uid == kube::meta::Uid(item);
      const plan::Rule* rule = plan_.MatchingRule(gvr, ns, name, kube::meta::Labels(item), *ns_labels);
      if (rule == nullptr) continue;  // not selected: a copy of it is extra
      const transform::Decision decision = transform::Classify(item, gvr);
      if (!decision.copy()) {
        // Going away in the source: the coming DELETED removes the copy, which keeps its
        // last live version until then. Anything else skipped was never ours to copy.
        if (decision.skip == transform::SkipReason::kBeingDeleted && existing != nullptr)
          existing->seen = true;
        continue;
      }
      // What the processor makes of it (kind and apiVersion as it fills them in).
      json object = item;
      if (!object.contains("apiVersion") || !object["apiVersion"].is_string())
        object["apiVersion"] = api_version;
      if (StringMember(object, "kind").empty()) object["kind"] = api->kind;
      const std::string& uid = kube::meta::Uid(item);
      const std::string& rv = kube::meta::ResourceVersion(item);
      Result<transform::Prepared> desired = transform::PrepareForDestination(
          object, gvr, rule->transformation, transform::MarkInfo{plan_.namespace_, plan_.name, uid, rv});
      if (!desired.ok()) {
        // The pipeline cannot write it either (the processor terminates it): leave the copy.
        if (existing != nullptr) existing->seen = true;
        logger_.Error("error transforming object", {{"sourceObject", service::ObjectRef(gvr, item)},
                                                    {"sourceCluster", source_cluster_},
                                                    {"rule", rule->source},
                                                    {"error", desired.status().ToString()}});
        continue;
      }
      const char* drift = nullptr;
      if (existing == nullptr) {
        drift = "missing";
        ++target.report.missing;
      } else {
        existing->seen = true;
        const bool drifted = existing->pvc.is_object()
                                 ? transform::PvcNeedsUpdate(existing->pvc, desired->object)
                                 : existing->hash != desired->content_hash;
        if (!drifted) continue;
        drift = "stale";
        ++target.report.stale;
      }
      json fields = {{"sourceObject", service::ObjectRef(gvr, item)},
                     {"sourceCluster", source_cluster_},
                     {"destinationObject", service::ObjectRef(gvr, desired->object)},
                     {"destinationCluster", destination_cluster_},
                     {"drift", {{"type", drift}}}};
      if (existing == nullptr) {
        logger_.Info("object not found in cluster", std::move(fields));
      } else {
        fields["event"] = service::EventField("update");
        logger_.Info("object read from cluster", std::move(fields));
      }
      if (pass.dry_run) continue;
      proto::Event event;
      event.type = proto::EventType::kResync;
      event.gvr = {gvr.group, gvr.version, gvr.resource};
      event.kind = api->kind;
      event.namespace_ = ns;
      event.name = name;
      event.uid = uid;
      event.resource_version = rv;
      Result<uint64_t> number = proto::ParseResourceVersion(rv);
      if (!number.ok()) continue;  // the listener drops it too ("error encoding event")
      event.resource_version_number = *number;
      event.observed_at_unix_nanos = pass.observed_at;
      event.live_synchronization_id = config_.id;
      event.object_json = item.dump();
      event.verify_destination = true;
      Status published = PublishEvent(pass, event);
      if (published.code() == Code::kCancelled) return;
      if (published.ok()) ++target.report.written;
    }
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  logger_.Debug("listed objects in cluster",
                {{"sourceCluster", source_cluster_}, {"sourceObject", field}, {"count", listed}});
}

Status Reconciler::DeleteExtras(Pass& pass, PassReport& report) {
  int64_t managed = 0;
  int64_t extras = 0;
  for (Target& target : pass.targets) {
    managed += target.report.managed;
    if (!target.judged) continue;
    for (const auto& [key, copy] : target.copies) {
      if (!copy.seen) ++target.report.extra;
    }
    extras += target.report.extra;
  }
  const double fraction = std::clamp(config_.mass_delete_fraction, 0.0, 1.0);
  report.guard_limit = std::max(config_.mass_delete_min,
                                static_cast<int64_t>(std::floor(fraction * static_cast<double>(managed))));
  if (fraction < 1.0 && extras > report.guard_limit) {
    report.guard_tripped = true;
    logger_.Error("mass deletion guard tripped: nothing deleted",
                  {{"destinationCluster", destination_cluster_},
                   {"sourceCluster", source_cluster_},
                   {"extra", extras},
                   {"managed", managed},
                   {"limit", report.guard_limit},
                   {"massDeleteFraction", fraction}});
    return OkStatus();
  }
  if (extras == 0) return OkStatus();
  if (pass.source_rv == 0 && !pass.dry_run) {
    // Stamp deletes with a source version (resourceVersions are one counter across
    // resources): newer than any record of what the source had before this pass, older
    // than a re-creation after it.
    kube::ListOptions one;
    one.limit = 1;
    Result<kube::ListPage> page = source_.ListOnePage({"", "v1", "namespaces", "", "", ""}, one);
    if (page.ok()) NoteSourceVersion(pass.source_rv, page->resource_version);
  }
  const std::string stamp = pass.source_rv > 0 ? std::to_string(pass.source_rv) : std::string();
  for (Target& target : pass.targets) {
    if (!target.judged) continue;
    const plan::Gvr& gvr = target.gvr;
    for (auto& [key, copy] : target.copies) {
      if (copy.seen) continue;
      if (!target.in_plan && !pass.dry_run) {
        // A resource the plan no longer names was not listed in the source: ask for this one.
        Result<json> source = source_.Get({gvr.group, gvr.version, gvr.resource, copy.ns, copy.name, ""});
        if (source.ok()) {
          copy.source_present = kube::meta::Uid(*source) == copy.source_uid;
        } else if (!kube::IsNotFound(source.status())) {
          logger_.Error("error getting object from cluster",
                        {{"sourceCluster", source_cluster_},
                         {"sourceObject", json{{"apiGroup", gvr.group},
                                               {"apiVersion", gvr.version},
                                               {"resource", gvr.resource},
                                               {"namespace", copy.ns},
                                               {"name", copy.name}}},
                         {"error", source.status().ToString()}});
          continue;  // judged again next pass
        }
      }
      json source_ref = ResourceField(gvr);
      source_ref["name"] = copy.name;
      if (!copy.ns.empty()) source_ref["namespace"] = copy.ns;
      source_ref["uid"] = copy.source_uid;
      json destination_ref = ResourceField(gvr);
      destination_ref["name"] = copy.name;
      if (!copy.ns.empty()) destination_ref["namespace"] = copy.ns;
      destination_ref["uid"] = copy.uid;
      destination_ref["resourceVersion"] = copy.resource_version;
      logger_.Info("object not found in cluster", {{"sourceObject", source_ref},
                                                   {"sourceCluster", source_cluster_},
                                                   {"destinationObject", destination_ref},
                                                   {"destinationCluster", destination_cluster_},
                                                   {"event", service::EventField("delete")},
                                                   {"drift", {{"type", "extra"}}}});
      if (pass.dry_run) continue;
      proto::Event event;
      event.type = proto::EventType::kDeleteRequest;
      event.gvr = {gvr.group, gvr.version, gvr.resource};
      event.namespace_ = copy.ns;
      event.name = copy.name;
      event.uid = copy.source_uid;
      if (!copy.source_present) {
        event.resource_version = stamp;
        event.resource_version_number = pass.source_rv;
      }
      event.observed_at_unix_nanos = pass.observed_at;
      event.live_synchronization_id = config_.id;
      event.verify_destination = true;
      // The copy as judged: the synchronizer deletes it only while it is still exactly
      // this one (uid and resourceVersion, also sent as the delete's preconditions).
      json seen = {{"name", copy.name}, {"uid", copy.uid}, {"resourceVersion", copy.resource_version}};
      if (!copy.ns.empty()) seen["namespace"] = copy.ns;
      event.object_json = json{{"metadata", seen}}.dump();
      Status published = PublishEvent(pass, event);
      if (published.code() == Code::kCancelled) return published;
      if (published.ok()) ++target.report.deleted;
    }
  }
  return OkStatus();
}

Status Reconciler::PublishEvent(Pass& pass, proto::Event event) {
  std::string who = event.uid;
  if (who.empty()) who = event.namespace_.empty() ? event.name : event.namespace_ + "/" + event.name;
  const std::string msg_id = who + "/" + event.resource_version + "/" +
                             std::string(proto::EventTypeName(event.type)) + "/" + pass.suffix;
  Backoff backoff(config_.publish_backoff);
  while (true) {
    if (Cancelled(pass)) return CancelledError("reconciler stopping");
    event.published_at_unix_nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch()).count();
    Result<std::string> data = proto::Encode(event);
    if (!data.ok()) {
      logger_.Error("error encoding event",
                    {{"sourceObject", service::ObjectRef(event)}, {"error", data.status().ToString()}});
      return data.status();
    }
    Status status = publish_(config_.events_subject, *data, msg_id);
    if (status.ok()) return status;
    logger_.Warn("error publishing event",
                 {{"error", status.ToString()}, {"subject", config_.events_subject}});
    const auto until = std::chrono::steady_clock::now() + backoff.Next();
    while (std::chrono::steady_clock::now() < until) {
      if (Cancelled(pass)) return CancelledError("reconciler stopping");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace kubesync::reconciler
