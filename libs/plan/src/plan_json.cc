// The normalized plan's own JSON form: what the controller writes for components.
#include "kubesync/plan/parse.h"
#include "plan_limits.h"
#include "rule_parts.h"

namespace kubesync::plan {
namespace internal {
namespace {

json PatchToJson(const Patch& p) {
  json ops = json::array();
  for (const auto& op : p.operations) {
    json o = {{"op", PatchOpName(op.op)}, {"path", op.path}};
    if (op.op != PatchOp::kRemove) o["value"] = op.value;
    ops.push_back(std::move(o));
  }
  return {{"operations", std::move(ops)}, {"skipIfNotFoundOnDelete", p.skip_if_not_found_on_delete}};
}

json RegexesToJson(const std::vector<NameRegex>& list) {
  json out = json::array();
  for (const auto& r : list) out.push_back(r.pattern);
  return out;
}

Patch PatchFromJson(const json& parent, std::string_view key, std::string_view path, Diagnostics& d,
                    bool* from_original) {
  Patch out;
  const std::string at = Join(path, key);
  const json* p = d.Object(parent, key, path, false);
  if (p == nullptr) return out;
  std::vector<std::string> fields = {"operations", "skipIfNotFoundOnDelete"};
  if (from_original != nullptr) fields.push_back("fromOriginal");
  d.CheckFields(*p, at, fields);
  out.operations = ParsePatchOperations(d.List(*p, "operations", at, false), Join(at, "operations"), d);
  out.skip_if_not_found_on_delete = d.Bool(*p, "skipIfNotFoundOnDelete", at, false).value_or(false);
  if (from_original != nullptr) *from_original = d.Bool(*p, "fromOriginal", at, false).value_or(false);
  return out;
}

labels::Selector SelectorFromString(const json& parent, std::string_view key, std::string_view path,
                                    Diagnostics& d) {
  auto text = d.String(parent, key, path, false);
  if (!text) return {};
  auto parsed = labels::Selector::Parse(*text);
  if (!parsed.ok()) {
    d.Error(Join(path, key), parsed.status().message());
    return {};
  }
  auto canonical = Canonical(*parsed);
  if (!canonical.ok()) {
    d.Error(Join(path, key), canonical.status().message());
    return {};
  }
  return *canonical;
}

}  // namespace

bool IsPlanJson(const json& j) {
  return j.is_object() && j.value("apiVersion", json()) == kPlanApiVersion &&
         j.value("kind", json()) == kPlanKind;
}

Plan PlanFromJson(const json& j, Diagnostics& d) {
  Plan plan;
  d.CheckFields(
      j, "",
      {"apiVersion", "kind", "name", "namespace", "plugin", "suspend", "sourceCluster", "destinationCluster",
       "bucket", "dryRun", "forceNamespaceCreation", "resyncPeriod", "observability", "operatorNamespace",
       "components", "rules", "warnings", "allowSameCluster"});
  plan.name = d.String(j, "name", "", true).value_or("");
  plan.namespace_ = d.String(j, "namespace", "", false).value_or("");
  plan.plugin = d.String(j, "plugin", "", false).value_or("");
  plan.suspend = d.Bool(j, "suspend", "", false).value_or(false);
  plan.source_cluster = d.String(j, "sourceCluster", "", true).value_or("");
  plan.destination_cluster = d.String(j, "destinationCluster", "", true).value_or("");
  plan.allow_same_cluster = d.Bool(j, "allowSameCluster", "", false).value_or(false);
  CheckClusterPair(plan, "destinationCluster", d);
  if (auto b = d.String(j, "bucket", "", false)) plan.bucket = *b;
  plan.dry_run = d.Bool(j, "dryRun", "", false).value_or(false);
  plan.force_namespace_creation = d.Bool(j, "forceNamespaceCreation", "", false).value_or(false);
  plan.resync_period = ParseDurationField(j, "resyncPeriod", "", d).value_or(kDefaultResyncPeriod);
  if (const json* obs = d.Object(j, "observability", "", false)) {
    d.CheckFields(*obs, "observability", {"enabled", "interval"});
    plan.observability.enabled = d.Bool(*obs, "enabled", "observability", false).value_or(false);
    plan.observability.interval =
        ParseDurationField(*obs, "interval", "observability", d).value_or(std::chrono::seconds(0));
  }
  plan.operator_namespace = d.String(j, "operatorNamespace", "", false).value_or("");
  if (const json* comps = d.Object(j, "components", "", false)) {
    d.CheckFields(*comps, "components", ComponentNames());
    for (const auto& name : ComponentNames()) {
      if (const json* c = d.Object(*comps, name, "components", false)) {
        plan.components[name] = ParseComponent(*c, Join("components", name), d);
      }
    }
    CheckComponentLimits(plan, "components", d);
  }
  if (const json* warnings = d.List(j, "warnings", "", false)) {
    for (std::size_t i = 0; i < warnings->size(); ++i) {
      const json& w = (*warnings)[i];
      const std::string at = Index("warnings", i);
      d.CheckFields(w, at, {"path", "message"});
      plan.warnings.push_back(
          {d.String(w, "path", at, false).value_or(""), d.String(w, "message", at, true).value_or("")});
    }
  }
  if (const json* rules = d.List(j, "rules", "", true)) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      const json& r = (*rules)[i];
      const std::string at = Index("rules", i);
      if (!r.is_object()) {
        d.Error(at, "must be an object (got " + Describe(r) + ")");
        continue;
      }
      d.CheckFields(r, at,
                    {"group", "version", "resource", "selector", "namespaceSelector", "includeNames",
                     "excludeNames", "transformation", "recovery", "source"});
      Rule rule;
      if (auto gv = ParseGroupVersion(r, at, d)) {
        rule.gvr.group = gv->group;
        rule.gvr.version = gv->version;
        CheckReplicableGroup(gv->group, at, d);
      }
      if (auto res = d.String(r, "resource", at, true)) {
        ValidateResourceName(*res, Join(at, "resource"), d);
        rule.gvr.resource = *res;
      }
      rule.selector = SelectorFromString(r, "selector", at, d);
      rule.namespace_selector = SelectorFromString(r, "namespaceSelector", at, d);
      rule.include_names = ParseRegexList(Find(r, "includeNames"), Join(at, "includeNames"), d);
      rule.exclude_names = ParseRegexList(Find(r, "excludeNames"), Join(at, "excludeNames"), d);
      rule.transformation = PatchFromJson(r, "transformation", at, d, nullptr);
      rule.recovery_patch = PatchFromJson(r, "recovery", at, d, &rule.recover_from_original);
      rule.source = d.String(r, "source", at, false).value_or("");
      plan.rules.push_back(std::move(rule));
    }
  }
  return plan;
}

}  // namespace internal

nlohmann::json ToJson(const Plan& plan) {
  using internal::json;
  json j = {{"apiVersion", kPlanApiVersion},
            {"kind", kPlanKind},
            {"name", plan.name},
            {"namespace", plan.namespace_},
            {"plugin", plan.plugin},
            {"suspend", plan.suspend},
            {"sourceCluster", plan.source_cluster},
            {"destinationCluster", plan.destination_cluster},
            {"dryRun", plan.dry_run},
            {"forceNamespaceCreation", plan.force_namespace_creation},
            {"resyncPeriod", FormatDuration(plan.resync_period)},
            {"operatorNamespace", plan.operator_namespace}};
  if (plan.bucket) j["bucket"] = *plan.bucket;
  if (plan.allow_same_cluster) j["allowSameCluster"] = true;
  j["observability"] = {{"enabled", plan.observability.enabled}};
  if (plan.observability.interval.count() > 0) {
    j["observability"]["interval"] = FormatDuration(plan.observability.interval);
  }
  json comps = json::object();
  for (const auto& [name, c] : plan.components) {
    json o = json::object();
    if (c.log_level) o["logLevel"] = *c.log_level;
    if (c.replicas) o["replicas"] = *c.replicas;
    if (c.concurrent_tasks) o["concurrentTasks"] = *c.concurrent_tasks;
    if (c.image_pull_policy) o["imagePullPolicy"] = *c.image_pull_policy;
    if (!c.resources.is_null()) o["resources"] = c.resources;
    comps[name] = std::move(o);
  }
  j["components"] = std::move(comps);
  json rules = json::array();
  for (const auto& r : plan.rules) {
    json recovery = internal::PatchToJson(r.recovery_patch);
    recovery["fromOriginal"] = r.recover_from_original;
    rules.push_back({{"group", r.gvr.group},
                     {"version", r.gvr.version},
                     {"resource", r.gvr.resource},
                     {"selector", r.selector.String()},
                     {"namespaceSelector", r.namespace_selector.String()},
                     {"includeNames", internal::RegexesToJson(r.include_names)},
                     {"excludeNames", internal::RegexesToJson(r.exclude_names)},
                     {"transformation", internal::PatchToJson(r.transformation)},
                     {"recovery", std::move(recovery)},
                     {"source", r.source}});
  }
  j["rules"] = std::move(rules);
  json warnings = json::array();
  for (const auto& w : plan.warnings) warnings.push_back({{"path", w.path}, {"message", w.message}});
  j["warnings"] = std::move(warnings);
  return j;
}

Result<Plan> FromJson(const nlohmann::json& plan_json, ParseReport* report) {
  if (!internal::IsPlanJson(plan_json)) {
    ParseReport local;
    ParseReport* r = report != nullptr ? report : &local;
    r->errors = {{"kind", "not a kubesync plan: want apiVersion " + internal::Quote(kPlanApiVersion) +
                              " and kind " + internal::Quote(kPlanKind)}};
    r->warnings.clear();
    return InvalidArgumentError(r->errors.front().ToString());
  }
  return ParseLiveSynchronization(plan_json, {}, report);
}

}  // namespace kubesync::plan
