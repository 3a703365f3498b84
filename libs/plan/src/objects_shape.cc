#include "kubesync/plan/parse.h"
#include "plan_limits.h"
#include "rule_parts.h"
#include "shapes.h"

namespace kubesync::plan::internal {
namespace {

const std::map<std::string, std::string> kOtherShapeHints = {
    {"globalSelector", "it belongs to the kubernetes-to-kubernetes plugin"},
    {"selectors",
     "it belongs to the kubernetes-to-kubernetes plugin; list resources under replication.resources"},
    {"transformations",
     "it belongs to the kubernetes-to-kubernetes plugin; use replication.resources[].transformation"},
    {"options", "it belongs to the kubernetes-to-kubernetes plugin"},
    {"resources", "resources go under replication.resources"},
};

std::optional<Rule> ParseResource(const json& r, const std::string& at, Diagnostics& d) {
  if (!r.is_object()) {
    d.Error(at, "must be an object with group, version and resource (got " + Describe(r) + ")");
    return std::nullopt;
  }
  d.CheckFields(r, at, {"group", "version", "resource", "transformation", "filters", "recoveryProcess"},
                {{"kind", "use resource: the plural, lower-case name such as \"deployments\""},
                 {"selector", "it goes under filters"},
                 {"namespaceSelector", "it goes under filters"},
                 {"nameSelector", "it goes under filters"},
                 {"patch", "it goes under transformation"},
                 {"fromPatch", "it goes under recoveryProcess"}});
  Rule rule;
  rule.source = at;
  bool ok = true;
  if (auto gv = ParseGroupVersion(r, at, d)) {
    rule.gvr.group = gv->group;
    rule.gvr.version = gv->version;
    ok = CheckReplicableGroup(gv->group, at, d) && ok;
  } else {
    ok = false;
  }
  if (auto resource = d.String(r, "resource", at, true)) {
    ok = ValidateResourceName(*resource, Join(at, "resource"), d) && ok;
    rule.gvr.resource = *resource;
  } else {
    ok = false;
  }

  const std::string tpath = Join(at, "transformation");
  if (const json* t = d.Object(r, "transformation", at, false)) {
    d.CheckFields(*t, tpath, {"patch", "patchOptions"});
    rule.transformation.operations =
        ParsePatchOperations(d.List(*t, "patch", tpath, false), Join(tpath, "patch"), d);
    rule.transformation.skip_if_not_found_on_delete = ParsePatchOptions(*t, tpath, d);
  }

  const std::string fpath = Join(at, "filters");
  if (const json* f = d.Object(r, "filters", at, false)) {
    d.CheckFields(*f, fpath, {"selector", "namespaceSelector", "nameSelector"});
    rule.selector = ParseLabelSelector(Find(*f, "selector"), Join(fpath, "selector"), d);
    rule.namespace_selector =
        ParseLabelSelector(Find(*f, "namespaceSelector"), Join(fpath, "namespaceSelector"), d);
    const std::string npath = Join(fpath, "nameSelector");
    if (const json* n = d.Object(*f, "nameSelector", fpath, false)) {
      d.CheckFields(*n, npath, {"regex", "excludeRegex"});
      rule.include_names = ParseRegexList(Find(*n, "regex"), Join(npath, "regex"), d);
      rule.exclude_names = ParseRegexList(Find(*n, "excludeRegex"), Join(npath, "excludeRegex"), d);
    }
  }

  const std::string rpath = Join(at, "recoveryProcess");
  if (const json* rp = d.Object(r, "recoveryProcess", at, false)) {
    d.CheckFields(*rp, rpath, {"fromPatch", "patchOptions", "fromOriginal"});
    rule.recovery_patch.operations =
        ParsePatchOperations(d.List(*rp, "fromPatch", rpath, false), Join(rpath, "fromPatch"), d);
    rule.recovery_patch.skip_if_not_found_on_delete = ParsePatchOptions(*rp, rpath, d);
    const std::string opath = Join(rpath, "fromOriginal");
    if (const json* fo = d.Object(*rp, "fromOriginal", rpath, false)) {
      d.CheckFields(*fo, opath, {"enabled"});
      // Without spec.config.bucketName the originals are the pre-transformation values the
      // pipeline records on each destination object (kubesync.io/original-values); with a
      // bucket, the copies kept there.
      rule.recover_from_original = d.Bool(*fo, "enabled", opath, false).value_or(false);
    }
  }
  if (!ok) return std::nullopt;
  return rule;
}

}  // namespace

void ParseObjectsConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d) {
  std::vector<std::string> fields = kCommonConfigFields;
  fields.insert(fields.end(), {"replication", "resyncPeriod"});
  d.CheckFields(config, path, fields, kOtherShapeHints);
  ParseCommonConfig(config, path, plan, d);

  const std::string rpath = Join(path, "replication");
  const auto outer = ParseDurationField(config, "resyncPeriod", path, d);
  const json* repl = d.Object(config, "replication", path, true);
  std::optional<std::chrono::seconds> inner;
  if (repl != nullptr) {
    d.CheckFields(*repl, rpath, {"resyncPeriod", "resources", "forceNamespaceCreation"});
    plan.force_namespace_creation = d.Bool(*repl, "forceNamespaceCreation", rpath, false).value_or(false);
    inner = ParseDurationField(*repl, "resyncPeriod", rpath, d);
  }
  // Documented in both places (the table and sample say replication, the prose says
  // config): one is enough; two must agree.
  if (outer && inner && *outer != *inner) {
    d.Error(Join(rpath, "resyncPeriod"), "conflicts with " + Join(path, "resyncPeriod") + " (" +
                                             FormatDuration(*inner) + " vs " + FormatDuration(*outer) +
                                             "): set it in one place, " + Join(rpath, "resyncPeriod"));
  } else if (outer && inner) {
    d.Warn(Join(path, "resyncPeriod"),
           "also set as " + Join(rpath, "resyncPeriod") + " (same value); keep one");
  }
  if (inner) {
    plan.resync_period = *inner;
  } else if (outer) {
    plan.resync_period = *outer;
  }

  if (repl == nullptr) return;
  const std::string lpath = Join(rpath, "resources");
  const json* resources = d.List(*repl, "resources", rpath, true);
  if (resources == nullptr) return;
  if (resources->empty()) {
    d.Error(lpath, "must list at least one resource to replicate");
    return;
  }
  for (std::size_t i = 0; i < resources->size(); ++i) {
    if (auto rule = ParseResource((*resources)[i], Index(lpath, i), d))
      plan.rules.push_back(std::move(*rule));
  }
  WarnUnreachableRules(plan.rules, d);
}

}  // namespace kubesync::plan::internal
