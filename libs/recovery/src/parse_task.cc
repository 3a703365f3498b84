// ParseTask: a validated Task object compiled into a TaskSpec.
#include <re2/re2.h>

#include "kubesync/plan/validate.h"
#include "kubesync/recovery/task.h"
#include "kubesync/transform/mark.h"

namespace kubesync::recovery {
namespace {

using nlohmann::json;

const json& Member(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string StringMember(const json& obj, std::string_view key) {
  const json& v = Member(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// The shapes below were checked by plan::ValidateAutomationObject; a failure here means the
// two disagree, reported like a validation error.
Result<labels::Selector> SelectorAt(const json& filter, std::string_view key, const std::string& path) {
  const json& v = Member(filter, key);
  if (v.is_null()) return labels::Selector();
  return labels::Selector::FromLabelSelector(v, path + "." + std::string(key));
}

Result<std::vector<plan::NameRegex>> RegexesAt(const json& names, std::string_view key,
                                               const std::string& path) {
  std::vector<plan::NameRegex> out;
  const json& list = Member(names, key);
  if (!list.is_array()) return out;
  RE2::Options options;
  options.set_log_errors(false);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string pattern = list[i].is_string() ? list[i].get<std::string>() : std::string();
    auto re = std::make_shared<const RE2>(pattern, options);
    if (!re->ok()) {
      return InvalidArgumentError(path + "." + std::string(key) + "[" + std::to_string(i) +
                                  "]: invalid regular expression: " + re->error());
    }
    out.push_back(plan::NameRegex{pattern, std::move(re)});
  }
  return out;
}

std::vector<plan::PatchOperation> OperationsAt(const json& patch) {
  std::vector<plan::PatchOperation> out;
  const json& list = Member(patch, "operations");
  if (!list.is_array()) return out;
  for (const json& item : list) {
    plan::PatchOperation op;
    const std::string name = StringMember(item, "op");
    op.op = name == "add"                            ? plan::PatchOp::kAdd
            : (name == "remove" || name == "delete") ? plan::PatchOp::kRemove
                                                     : plan::PatchOp::kReplace;
    op.path = StringMember(item, "path");
    if (op.op != plan::PatchOp::kRemove) op.value = Member(item, "value");
    out.push_back(std::move(op));
  }
  return out;
}

Result<TaskResource> ParseResource(const json& entry, const std::string& path) {
  TaskResource out;
  out.source = path;
  const json& id = Member(entry, "identifier");
  // The reference shape's "resources" is read as "resource" (validated: never both).
  const std::string resource =
      Member(id, "resource").is_null() ? StringMember(id, "resources") : StringMember(id, "resource");
  out.rule.gvr = {StringMember(id, "group"), StringMember(id, "version"), resource};
  out.rule.source = path;
  const json& patch = Member(entry, "patch");
  out.rule.recovery_patch.operations = OperationsAt(patch);
  const json& skip = Member(Member(patch, "options"), "skipIfNotFoundOnDelete");
  out.rule.recovery_patch.skip_if_not_found_on_delete = skip.is_boolean() && skip.get<bool>();
  const json& from_original = Member(entry, "fromOriginal");
  const json& enabled = Member(from_original, "enabled");
  out.rule.recover_from_original = enabled.is_boolean() && enabled.get<bool>();
  const json& paths = Member(from_original, "paths");
  if (paths.is_array()) {
    for (const json& p : paths) {
      if (p.is_string()) out.original_paths.push_back(p.get<std::string>());
    }
  }

  const std::string fpath = path + ".patch.filter";
  const json& filter = Member(patch, "filter");
  KS_ASSIGN_OR_RETURN(out.rule.namespace_selector, SelectorAt(filter, "namespaceSelector", fpath));
  KS_ASSIGN_OR_RETURN(out.rule.selector, SelectorAt(filter, "selector", fpath));
  const json& names = Member(filter, "nameSelector");
  KS_ASSIGN_OR_RETURN(out.rule.include_names, RegexesAt(names, "includeRegex", fpath + ".nameSelector"));
  KS_ASSIGN_OR_RETURN(out.rule.exclude_names, RegexesAt(names, "excludeRegex", fpath + ".nameSelector"));
  out.gvr = out.rule.gvr;
  return out;
}

}  // namespace

Result<TaskSpec> ParseTask(const nlohmann::json& task) {
  if (!task.is_object() || StringMember(task, "kind") != "Task" ||
      StringMember(task, "apiVersion") != plan::kAutomationApiVersion) {
    return InvalidArgumentError("not a Task: want apiVersion " + std::string(plan::kAutomationApiVersion) +
                                " and kind Task");
  }
  plan::ParseReport report;
  KS_RETURN_IF_ERROR(plan::ValidateAutomationObject(task, &report));
  TaskSpec spec;
  spec.warnings = std::move(report.warnings);
  const json& meta = Member(task, "metadata");
  spec.name = StringMember(meta, "name");
  spec.namespace_ = StringMember(meta, "namespace");
  const json& ls = Member(Member(meta, "annotations"), transform::kLiveSynchronizationAnnotation);
  if (ls.is_string() && !ls.get<std::string>().empty()) spec.live_synchronization = ls.get<std::string>();
  const json& resources = Member(Member(Member(task, "spec"), "config"), "resources");
  for (std::size_t i = 0; i < resources.size(); ++i) {
    KS_ASSIGN_OR_RETURN(TaskResource r,
                        ParseResource(resources[i], "spec.config.resources[" + std::to_string(i) + "]"));
    spec.resources.push_back(std::move(r));
  }
  return spec;
}

}  // namespace kubesync::recovery
