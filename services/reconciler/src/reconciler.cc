#include "reconciler.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

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

namespace kubesync::reconciler {
using internal::IsPvc;
using internal::Member;
using internal::ResourceField;
using internal::StringMember;
using nlohmann::json;

ResourceReport PassReport::Total() const {
  ResourceReport total;
  for (const ResourceReport& r : resources) {
    total.managed += r.managed;
    total.missing += r.missing;
    total.stale += r.stale;
    total.extra += r.extra;
    total.written += r.written;
    total.deleted += r.deleted;
  }
  return total;
}

int64_t PassReport::failed_resources() const {
  int64_t failed = discovery_failed ? 1 : 0;
  for (const ResourceReport& r : resources) failed += r.error.empty() ? 0 : 1;
  return failed;
}

state::PassSummary PassReport::Summary() const {
  const ResourceReport total = Total();
  state::PassSummary s;
  s.finished_at_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>((started + duration).time_since_epoch()).count();
  s.duration_ms = duration.count();
  s.missing = total.missing;
  s.stale = total.stale;
  s.extra = total.extra;
  s.written = total.written;
  s.deleted = total.deleted;
  s.failed_resources = failed_resources();
  s.guard_tripped = guard_tripped;
  s.dry_run = dry_run;
  return s;
}

std::vector<json> ReportLines(const PassReport& report) {
  std::vector<json> out;
  auto counts = [](json& line, const ResourceReport& r) {
    line["missing"] = r.missing;
    line["stale"] = r.stale;
    line["extra"] = r.extra;
    line["written"] = r.written;
    line["deleted"] = r.deleted;
  };
  for (const ResourceReport& r : report.resources) {
    json line = ResourceField(r.gvr);
    counts(line, r);
    if (!r.error.empty()) line["error"] = r.error;
    out.push_back(std::move(line));
  }
  json total = {{"total", true}};
  counts(total, report.Total());
  total["resources"] = report.resources.size();
  if (const int64_t failed = report.failed_resources(); failed > 0) total["failedResources"] = failed;
  if (report.discovery_failed) total["error"] = report.discovery_error;
  if (report.guard_tripped) {
    total["guardTripped"] = true;
    total["guardLimit"] = report.guard_limit;
  }
  if (report.dry_run) total["dryRun"] = true;
  total["durationMs"] = report.duration.count();
  out.push_back(std::move(total));
  return out;
}

Reconciler::Reconciler(kube::Client& source, kube::Client& destination, const plan::Plan& plan,
                       ReconcilerConfig config, PublishFn publish, log::Logger logger, json source_cluster,
                       json destination_cluster, const Clock* clock)
    : source_(source),
      destination_(destination),
      plan_(plan),
      config_(std::move(config)),
      publish_(std::move(publish)),
      logger_(std::move(logger)),
      source_cluster_(std::move(source_cluster)),
      destination_cluster_(std::move(destination_cluster)),
      clock_(clock) {}

bool Reconciler::Cancelled(const Pass& pass) const { return pass.cancel != nullptr && pass.cancel->load(); }

Result<PassReport> Reconciler::RunPass(bool dry_run, const std::atomic<bool>* cancel) {
  Pass pass;
  pass.dry_run = dry_run;
  pass.cancel = cancel;
  const WallTime started = clock_->Now();
  const MonoTime started_mono = clock_->SteadyNow();
  pass.observed_at = std::chrono::duration_cast<std::chrono::nanoseconds>(started.time_since_epoch()).count();
  pass.suffix = "reconcile-" + std::to_string(pass.observed_at);
  pass.source_discovery.emplace(source_);
  logger_.Info("reconcile pass started", {{"sourceCluster", source_cluster_},
                                          {"destinationCluster", destination_cluster_},
                                          {"dryRun", dry_run}});

  // The destination first: a copy the pipeline writes meanwhile is then found in the
  // (later) source list, never taken for an extra; one deleted meanwhile is only
  // reported missing, and its repair is refused as older than the synchronizer's record.
  pass.targets = DestinationTargets(pass);
  for (Target& target : pass.targets) {
    if (Cancelled(pass)) return CancelledError("reconciler stopping");
    ListDestination(pass, target);
  }
  for (Target& target : pass.targets) {
    if (!target.in_plan) continue;
    if (Cancelled(pass)) return CancelledError("reconciler stopping");
    CompareSource(pass, target);
  }
  if (Cancelled(pass)) return CancelledError("reconciler stopping");
  PassReport report;
  Status deleted = DeleteExtras(pass, report);
  if (deleted.code() == Code::kCancelled) return deleted;

  report.dry_run = dry_run;
  report.started = started;
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock_->SteadyNow() - started_mono);
  report.discovery_failed = !pass.discovery_error.empty();
  report.discovery_error = pass.discovery_error;
  for (Target& target : pass.targets) {
    if (target.in_plan || target.report.managed > 0 || !target.report.error.empty()) {
      report.resources.push_back(std::move(target.report));
    }
  }
  const ResourceReport total = report.Total();
  logger_.Info("reconcile pass finished", {{"sourceCluster", source_cluster_},
                                           {"destinationCluster", destination_cluster_},
                                           {"dryRun", dry_run},
                                           {"missing", total.missing},
                                           {"stale", total.stale},
                                           {"extra", total.extra},
                                           {"written", total.written},
                                           {"deleted", total.deleted},
                                           {"failedResources", report.failed_resources()},
                                           {"guardTripped", report.guard_tripped},
                                           {"durationMs", report.duration.count()}});
  return report;
}

std::vector<Reconciler::Target> Reconciler::DestinationTargets(Pass& pass) {
  std::vector<Target> out;
  for (const plan::Gvr& gvr : plan_.Resources()) {
    Target t;
    t.gvr = gvr;
    t.in_plan = true;
    t.report.gvr = gvr;
    t.report.in_plan = true;
    out.push_back(std::move(t));
  }
  // Copies of resources the plan no longer names (a removed rule) are found by asking the
  // destination what it serves: every listable, deletable resource, in its group's
  // preferred version.
  logger_.Debug("reading server groups and resources", {{"destinationCluster", destination_cluster_}});
  Result<json> core = destination_.GetPath("/api");
  Result<json> groups = core.ok() ? destination_.GetPath("/apis") : core;
  if (!groups.ok()) {
    pass.discovery_error = "discovery: " + groups.status().ToString();
    logger_.Error("error reading server groups and resources",
                  {{"destinationCluster", destination_cluster_}, {"error", groups.status().ToString()}});
    return out;
  }
  std::vector<std::pair<std::string, std::string>> group_versions;
  for (const json& v : Member(*core, "versions")) {
    if (v.is_string()) group_versions.emplace_back("", v.get<std::string>());
  }
  for (const json& g : Member(*groups, "groups")) {
    const std::string name = StringMember(g, "name");
    const std::string preferred = StringMember(Member(g, "preferredVersion"), "version");
    if (!name.empty() && !preferred.empty()) group_versions.emplace_back(name, preferred);
  }
  logger_.Debug("server group and resources read from cluster",
                {{"destinationCluster", destination_cluster_}, {"count", group_versions.size()}});
  kube::Discovery discovery(destination_);
  for (const auto& [group, version] : group_versions) {
    json field = {{"apiGroup", group}, {"apiVersion", version}};
    logger_.Debug("reading resources for group version",
                  {{"destinationCluster", destination_cluster_}, {"destinationObject", field}});
    Result<std::vector<kube::ApiResource>> resources = discovery.ResourcesFor(group, version);
    if (!resources.ok()) {
      pass.discovery_error = "discovery of " + (group.empty() ? version : group + "/" + version) + ": " +
                             resources.status().ToString();
      logger_.Error("error reading resources for group version",
                    {{"destinationCluster", destination_cluster_},
                     {"destinationObject", field},
                     {"error", resources.status().ToString()}});
      continue;
    }
    for (const kube::ApiResource& r : *resources) {
      if (!r.HasVerb("list") || !r.HasVerb("delete")) continue;
      const bool planned = std::any_of(out.begin(), out.end(), [&](const Target& t) {
        return t.gvr.group == r.group && t.gvr.resource == r.resource;
      });
      if (planned) continue;
      Target t;
      t.gvr = plan::Gvr{r.group, r.version, r.resource};
      t.report.gvr = t.gvr;
      out.push_back(std::move(t));
    }
  }
  return out;
}

void Reconciler::ListDestination(Pass& pass, Target& target) {
  (void)pass;
  const plan::Gvr& gvr = target.gvr;
  const json field = ResourceField(gvr);
  const std::string api_version = gvr.group.empty() ? gvr.version : gvr.group + "/" + gvr.version;
  kube::ResourceRef ref{gvr.group, gvr.version, gvr.resource, "", "", ""};
  kube::ListOptions options;
  options.limit = config_.page_size;
  // The label narrows the list on the server; IsManagedBy (label and annotation) decides.
  options.label_selector =
      std::string(transform::kManagedByLabel) + "=" + transform::LabelValueForId(config_.id);
  logger_.Debug("listing objects in cluster",
                {{"destinationCluster", destination_cluster_}, {"destinationObject", field}});
  while (true) {
    Result<kube::ListPage> page = destination_.ListOnePage(ref, options);
    if (!page.ok()) {
      if (kube::IsNotFound(page.status())) {
        // Not served by the destination (a CRD not installed there): it holds no copies.
        logger_.Info("list objects not found in cluster",
                     {{"destinationCluster", destination_cluster_}, {"destinationObject", field}});
        target.copies.clear();
        break;
      }
      if (!target.in_plan &&
          (page.status().code() == Code::kPermissionDenied || page.status().http_status() == 405)) {
        // Outside the plan and not ours to list (RBAC): kubesync cannot have written it.
        logger_.Debug("error listing objects in cluster", {{"destinationCluster", destination_cluster_},
                                                           {"destinationObject", field},
                                                           {"error", page.status().ToString()}});
        target.copies.clear();
        break;
      }
      logger_.Error("error listing objects in cluster", {{"destinationCluster", destination_cluster_},
                                                         {"destinationObject", field},
                                                         {"error", page.status().ToString()}});
      target.judged = false;
      target.report.error = "listing the destination: " + page.status().ToString();
      break;
    }
    std::string kind = page->kind;
    if (kind.size() > 4 && kind.ends_with("List")) kind.resize(kind.size() - 4);
    for (const json& item : page->items) {
      if (!transform::IsManagedBy(item, config_.id)) continue;
      Copy copy;
      copy.source_uid = kube::meta::Annotation(item, transform::kSourceUidAnnotation);
      // Only copies of source objects; the namespaces the synchronizer created and the
      // recovery Task carry the marking but no source uid, and are not the reconciler's.
      if (copy.source_uid.empty()) continue;
      copy.ns = kube::meta::Namespace(item);
      copy.name = kube::meta::Name(item);
      if (copy.name.empty() || plan_.IsDefaultExcluded(gvr, copy.ns, copy.name)) continue;
      copy.uid = kube::meta::Uid(item);
      copy.resource_version = kube::meta::ResourceVersion(item);
      if (target.in_plan) {
        // List items carry no apiVersion and kind; the copy as written had both.
        json object = item;
        if (!object.contains("apiVersion")) object["apiVersion"] = api_version;
        if (!object.contains("kind") && !kind.empty()) object["kind"] = kind;
        if (IsPvc(gvr)) {
          copy.pvc = std::move(object);
        } else {
          copy.hash = transform::DestinationContentHash(object, gvr);
        }
      }
      std::string key = kube::ObjectKey(copy.ns, copy.name);
      target.copies.emplace(std::move(key), std::move(copy));
    }
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  target.report.managed = static_cast<int64_t>(target.copies.size());
  logger_.Debug("listed objects in cluster", {{"destinationCluster", destination_cluster_},
                                              {"destinationObject", field},
                                              {"count", target.copies.size()}});
}

}  // namespace kubesync::reconciler
