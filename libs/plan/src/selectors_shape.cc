#include <algorithm>

#include "plan_limits.h"
#include "rule_parts.h"
#include "shapes.h"

namespace kubesync::plan::internal {
namespace {

const std::map<std::string, std::string> kOtherShapeHints = {
    {"replication",
     "it belongs to the kubernetes-objects-to-kubernetes plugin; list resources under selectors[].target"},
};

struct WrappedSelector {
  labels::Selector labels;
  std::vector<NameRegex> include_names;
  std::vector<NameRegex> exclude_names;
};

// {labelSelector: LabelSelector} (and, for object selectors, nameSelector {regex,
// excludeRegex} as in the older shape's filters).
WrappedSelector ParseWrapped(const json& parent, std::string_view key, std::string_view path,
                             bool allow_names, Diagnostics& d) {
  WrappedSelector out;
  const std::string at = Join(path, key);
  const json* o = d.Object(parent, key, path, false);
  if (o == nullptr) return out;
  std::vector<std::string> fields = {"labelSelector"};
  if (allow_names) fields.push_back("nameSelector");
  d.CheckFields(
      *o, at, fields,
      {{"matchLabels", "put it under labelSelector"}, {"matchExpressions", "put it under labelSelector"}});
  out.labels = ParseLabelSelector(Find(*o, "labelSelector"), Join(at, "labelSelector"), d);
  if (allow_names) {
    const std::string npath = Join(at, "nameSelector");
    if (const json* n = d.Object(*o, "nameSelector", at, false)) {
      d.CheckFields(*n, npath, {"regex", "excludeRegex"});
      out.include_names = ParseRegexList(Find(*n, "regex"), Join(npath, "regex"), d);
      out.exclude_names = ParseRegexList(Find(*n, "excludeRegex"), Join(npath, "excludeRegex"), d);
    }
  }
  return out;
}

struct Target {
  Gvr gvr;
  std::string source;
};

// {group, version, resources: [..]} -> one gvr per resource.
std::vector<Target> ParseTarget(const json& t, const std::string& at, Diagnostics& d) {
  std::vector<Target> out;
  if (!t.is_object()) {
    d.Error(at, "must be an object with group, version and resources (got " + Describe(t) + ")");
    return out;
  }
  d.CheckFields(t, at, {"group", "version", "resources"});
  auto gv = ParseGroupVersion(t, at, d);
  if (gv && !CheckReplicableGroup(gv->group, at, d)) gv.reset();
  const std::string rpath = Join(at, "resources");
  if (const json* r = Find(t, "resources"); r != nullptr && r->is_string()) {
    d.Error(rpath, "must be a list of resources, e.g. [" + r->get<std::string>() + "]");
    return out;
  }
  const json* list = d.List(t, "resources", at, true);
  if (list == nullptr) return out;
  if (list->empty()) d.Error(rpath, "must list at least one resource");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& name = (*list)[i];
    if (!name.is_string()) {
      d.Error(Index(rpath, i), "must be a string (got " + Describe(name) + ")");
      continue;
    }
    if (!ValidateResourceName(name.get<std::string>(), Index(rpath, i), d) || !gv) continue;
    out.push_back({Gvr{gv->group, gv->version, name.get<std::string>()}, Index(rpath, i)});
  }
  return out;
}

struct Transformation {
  std::vector<Target> targets;
  labels::Selector namespace_selector;
  labels::Selector object_selector;
  Patch patch;
  std::string source;
};

std::optional<Transformation> ParseTransformation(const json& t, const std::string& at, Diagnostics& d) {
  if (!t.is_object()) {
    d.Error(at, "must be an object with resources and operations (got " + Describe(t) + ")");
    return std::nullopt;
  }
  d.CheckFields(t, at, {"resources", "namespaceSelector", "objectSelector", "operations"});
  Transformation out;
  out.source = at;
  const std::string rpath = Join(at, "resources");
  if (const json* list = d.List(t, "resources", at, true)) {
    if (list->empty()) d.Error(rpath, "must list at least one group/version/resources entry");
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto targets = ParseTarget((*list)[i], Index(rpath, i), d);
      out.targets.insert(out.targets.end(), targets.begin(), targets.end());
    }
  }
  out.namespace_selector = ParseWrapped(t, "namespaceSelector", at, false, d).labels;
  out.object_selector = ParseWrapped(t, "objectSelector", at, false, d).labels;
  const std::string opath = Join(at, "operations");
  if (const json* ops = d.List(t, "operations", at, true)) {
    if (ops->empty()) d.Error(opath, "must list at least one operation");
    for (std::size_t i = 0; i < ops->size(); ++i) {
      const json& op = (*ops)[i];
      const std::string ipath = Index(opath, i);
      if (!op.is_object()) {
        d.Error(ipath,
                "must be an object such as {jsonpatch: {operations: [...]}} (got " + Describe(op) + ")");
        continue;
      }
      d.CheckFields(op, ipath, {"jsonpatch"},
                    {{"op", "JSON patch operations go under jsonpatch.operations"},
                     {"path", "JSON patch operations go under jsonpatch.operations"}});
      const std::string jpath = Join(ipath, "jsonpatch");
      if (const json* jp = d.Object(op, "jsonpatch", ipath, true)) {
        d.CheckFields(*jp, jpath, {"operations"});
        auto parsed =
            ParsePatchOperations(d.List(*jp, "operations", jpath, true), Join(jpath, "operations"), d);
        out.patch.operations.insert(out.patch.operations.end(), parsed.begin(), parsed.end());
      }
    }
  }
  return out;
}

bool Covers(const Transformation& t, const Gvr& gvr) {
  for (const auto& target : t.targets) {
    if (target.gvr == gvr) return true;
  }
  return false;
}

}  // namespace

void ParseSelectorsConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d) {
  std::vector<std::string> fields = kCommonConfigFields;
  fields.insert(fields.end(), {"globalSelector", "selectors", "transformations", "options", "resyncPeriod"});
  d.CheckFields(config, path, fields, kOtherShapeHints);
  ParseCommonConfig(config, path, plan, d);
  if (auto period = ParseDurationField(config, "resyncPeriod", path, d)) plan.resync_period = *period;

  const std::string opath = Join(path, "options");
  if (const json* options = d.Object(config, "options", path, false)) {
    d.CheckFields(*options, opath, {"dryRun"});
    plan.dry_run = d.Bool(*options, "dryRun", opath, false).value_or(false);
  }

  const std::string gpath = Join(path, "globalSelector");
  WrappedSelector global_ns, global_obj;
  if (const json* g = d.Object(config, "globalSelector", path, false)) {
    d.CheckFields(*g, gpath, {"namespaceSelector", "objectSelector"});
    global_ns = ParseWrapped(*g, "namespaceSelector", gpath, false, d);
    global_obj = ParseWrapped(*g, "objectSelector", gpath, false, d);
  }

  std::vector<Transformation> transformations;
  const std::string tpath = Join(path, "transformations");
  if (const json* list = d.List(config, "transformations", path, false)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (auto t = ParseTransformation((*list)[i], Index(tpath, i), d))
        transformations.push_back(std::move(*t));
    }
  }

  std::vector<Rule> selected;
  const std::string spath = Join(path, "selectors");
  const json* selectors = d.List(config, "selectors", path, true);
  if (selectors != nullptr && selectors->empty()) d.Error(spath, "must list at least one selector");
  for (std::size_t i = 0; selectors != nullptr && i < selectors->size(); ++i) {
    const json& s = (*selectors)[i];
    const std::string at = Index(spath, i);
    if (!s.is_object()) {
      d.Error(at, "must be an object with target, objectSelector and namespaceSelector (got " + Describe(s) +
                      ")");
      continue;
    }
    d.CheckFields(s, at, {"target", "objectSelector", "namespaceSelector"});
    const WrappedSelector obj = ParseWrapped(s, "objectSelector", at, true, d);
    const WrappedSelector ns = ParseWrapped(s, "namespaceSelector", at, false, d);
    const json* target = d.Object(s, "target", at, true);
    if (target == nullptr) continue;
    for (const auto& t : ParseTarget(*target, Join(at, "target"), d)) {
      Rule rule;
      rule.gvr = t.gvr;
      rule.selector = AndSelectors(global_obj.labels, obj.labels, Join(at, "objectSelector"), d);
      rule.namespace_selector = AndSelectors(global_ns.labels, ns.labels, Join(at, "namespaceSelector"), d);
      rule.include_names = obj.include_names;
      rule.exclude_names = obj.exclude_names;
      rule.source = t.source;
      selected.push_back(std::move(rule));
    }
  }

  // Transformations become rules: the part of a selector's objects that a transformation
  // also selects gets its operations. The first transformation that selects an object wins.
  for (Rule& rule : selected) {
    const std::string plain_ns = rule.namespace_selector.String();
    const std::string plain_obj = rule.selector.String();
    for (const Transformation& t : transformations) {
      if (!Covers(t, rule.gvr)) continue;
      Rule narrowed = rule;
      narrowed.namespace_selector = AndSelectors(rule.namespace_selector, t.namespace_selector, t.source, d);
      narrowed.selector = AndSelectors(rule.selector, t.object_selector, t.source, d);
      narrowed.transformation = t.patch;
      if (narrowed.namespace_selector.String() == plain_ns && narrowed.selector.String() == plain_obj) {
        rule.transformation = t.patch;  // selects all the rule selects: no split needed
        break;
      }
      narrowed.source = rule.source + " with " + t.source;
      plan.rules.push_back(std::move(narrowed));
    }
    plan.rules.push_back(std::move(rule));
  }

  for (std::size_t i = 0; i < transformations.size(); ++i) {
    for (const Target& target : transformations[i].targets) {
      const bool selected_somewhere = std::any_of(plan.rules.begin(), plan.rules.end(),
                                                  [&](const Rule& r) { return r.gvr == target.gvr; });
      if (!selected_somewhere) {
        d.Warn(target.source, target.gvr.String() + " is not selected by any entry of " + spath +
                                  ": this transformation never applies to it");
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (Covers(transformations[j], target.gvr)) {
          d.Warn(target.source, target.gvr.String() + " is also transformed by " + transformations[j].source +
                                    ": an object both select gets only the operations of the first");
          break;
        }
      }
    }
  }
  WarnUnreachableRules(plan.rules, d);
}

}  // namespace kubesync::plan::internal
