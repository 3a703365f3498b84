#include "rule_parts.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "kubesync/core/names.h"
#include "kubesync/plan/parse.h"

namespace kubesync::plan::internal {
namespace {

// v1, v2, v1beta1, v2alpha3.
bool IsApiVersion(std::string_view v) {
  if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1])) || v[1] == '0')
    return false;
  std::size_t i = 1;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == v.size()) return true;
  std::string_view rest = v.substr(i);
  for (std::string_view level : {"alpha", "beta"}) {
    if (rest.substr(0, level.size()) == level) {
      rest.remove_prefix(level.size());
      return !rest.empty() && rest[0] != '0' && std::all_of(rest.begin(), rest.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
    }
  }
  return false;
}

// "*.test" -> ".*\.test": what a glob-minded author most likely meant.
std::string GlobToRegex(std::string_view glob) {
  std::string out;
  for (char c : glob) {
    if (c == '*') {
      out += ".*";
    } else if (c == '?') {
      out += '.';
    } else if (std::string_view(".+()[]{}^$|\\").find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string PluralOf(std::string kind) {
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kind.empty()) return kind;
  if (kind.back() == 's' || kind.back() == 'x' || kind.ends_with("ch") || kind.ends_with("sh"))
    return kind + "es";
  if (kind.back() == 'y' && kind.size() > 1 &&
      std::string_view("aeiou").find(kind[kind.size() - 2]) == std::string_view::npos) {
    return kind.substr(0, kind.size() - 1) + "ies";
  }
  return kind + "s";
}

// RE2's error in the words of Go's regexp/syntax, which users of the Go product know:
// "missing argument to repetition operator: *".
std::string GoStyleRegexError(const RE2& re) {
  const char* text = nullptr;
  switch (re.error_code()) {
    case RE2::ErrorBadEscape:
      text = "invalid escape sequence";
      break;
    case RE2::ErrorBadCharClass:
      text = "invalid character class";
      break;
    case RE2::ErrorBadCharRange:
      text = "invalid character class range";
      break;
    case RE2::ErrorMissingBracket:
      text = "missing closing ]";
      break;
    case RE2::ErrorMissingParen:
      text = "missing closing )";
      break;
    case RE2::ErrorUnexpectedParen:
      text = "unexpected )";
      break;
    case RE2::ErrorTrailingBackslash:
      text = "trailing backslash at end of expression";
      break;
    case RE2::ErrorRepeatArgument:
      text = "missing argument to repetition operator";
      break;
    case RE2::ErrorRepeatSize:
      text = "invalid repeat count";
      break;
    case RE2::ErrorRepeatOp:
      text = "invalid nested repetition operator";
      break;
    case RE2::ErrorBadPerlOp:
      text = "invalid or unsupported Perl syntax";
      break;
    case RE2::ErrorBadUTF8:
      text = "invalid UTF-8";
      break;
    case RE2::ErrorBadNamedCapture:
      text = "invalid named capture";
      break;
    default:
      return re.error();
  }
  return re.error_arg().empty() ? std::string(text) : std::string(text) + ": " + re.error_arg();
}

const std::vector<std::string> kLogLevels = {"trace",   "debug", "info",  "warn",
                                             "warning", "error", "fatal", "panic"};
const std::vector<std::string> kPullPolicies = {"Always", "IfNotPresent", "Never"};

}  // namespace

std::optional<std::string> JsonPointerProblem(std::string_view p) {
  if (p.empty()) return "must not be empty (an empty JSON pointer is the whole object)";
  if (p[0] != '/') {
    std::string fixed = "/" + std::string(p);
    if (fixed.find('/', 1) == std::string::npos) std::replace(fixed.begin(), fixed.end(), '.', '/');
    return "must be a JSON pointer starting with \"/\" (did you mean " + Quote(fixed) + "?)";
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '~' && (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) {
      return "invalid escape in JSON pointer " + Quote(p) + ": write ~0 for \"~\" and ~1 for \"/\"";
    }
  }
  return std::nullopt;
}

std::vector<PatchOperation> ParsePatchOperations(const json* list, std::string_view path, Diagnostics& d) {
  std::vector<PatchOperation> out;
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const std::string at = Index(path, i);
    if (!item.is_object()) {
      d.Error(at, "must be an object with op, path and value (got " + Describe(item) + ")");
      continue;
    }
    d.CheckFields(item, at, {"op", "path", "value"});
    PatchOperation op;
    bool ok = true;
    if (auto name = d.String(item, "op", at, true)) {
      if (*name == "replace") {
        op.op = PatchOp::kReplace;
      } else if (*name == "add") {
        op.op = PatchOp::kAdd;
      } else if (*name == "remove") {
        op.op = PatchOp::kRemove;
      } else if (*name == "delete") {
        // The reference table lists "delete"; JSON patch (and the prose) call it "remove".
        op.op = PatchOp::kRemove;
        d.Warn(Join(at, "op"), "\"delete\" is read as the JSON patch op \"remove\"");
      } else if (*name == "move" || *name == "copy" || *name == "test") {
        d.Error(Join(at, "op"),
                "JSON patch op " + Quote(*name) + " is not supported here: want replace, add or remove");
        ok = false;
      } else {
        std::string message = "unsupported operation " + Quote(*name) + ": want replace, add or remove";
        if (auto c = Closest(*name, {"replace", "add", "remove"})) message += " (did you mean " + *c + "?)";
        d.Error(Join(at, "op"), message);
        ok = false;
      }
    } else {
      ok = false;
    }
    if (Find(item, "path") == nullptr) {
      d.Error(Join(at, "path"), "required field is missing");
      ok = false;
    } else if (auto ptr = d.String(item, "path", at, false)) {
      if (auto problem = JsonPointerProblem(*ptr)) {
        d.Error(Join(at, "path"), *problem);
        ok = false;
      }
      op.path = *ptr;
    } else {
      ok = false;
    }
    if (ok && op.op != PatchOp::kRemove) {
      if (!item.contains("value")) {
        d.Error(Join(at, "value"), "required for op " + std::string(PatchOpName(op.op)));
        ok = false;
      } else {
        op.value = item["value"];
      }
    }
    if (ok) out.push_back(std::move(op));
  }
  return out;
}

bool ParsePatchOptions(const json& parent, std::string_view path, Diagnostics& d) {
  const std::string at = Join(path, "patchOptions");
  const json* opts = d.Object(parent, "patchOptions", path, false);
  if (opts == nullptr) return false;
  d.CheckFields(*opts, at, {"skipIfNotFoundOnDelete"});
  return d.Bool(*opts, "skipIfNotFoundOnDelete", at, false).value_or(false);
}

std::optional<NameRegex> CompileNameRegex(const std::string& pattern, std::string_view path, Diagnostics& d) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(pattern, options);
  if (!re->ok()) {
    std::string message = "invalid regular expression " + Quote(pattern) + ": " + GoStyleRegexError(*re);
    if (pattern.find_first_of("*?") != std::string::npos) {
      const std::string guess = GlobToRegex(pattern);
      if (RE2(guess, options).ok()) message += " (did you mean " + Quote(guess) + "?)";
    }
    d.Error(std::string(path), message);
    return std::nullopt;
  }
  return NameRegex{pattern, std::move(re)};
}

std::vector<NameRegex> ParseRegexList(const json* list, std::string_view path, Diagnostics& d) {
  std::vector<NameRegex> out;
  if (list == nullptr) return out;
  if (!list->is_array()) {
    std::string message = "must be a list of regular expressions (got " + Describe(*list) + ")";
    if (list->is_string()) message += "; write [" + Quote(list->get<std::string>()) + "]";
    d.Error(std::string(path), message);
    return out;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    if (!item.is_string()) {
      d.Error(Index(path, i), "must be a string (got " + Describe(item) + ")");
      continue;
    }
    if (auto re = CompileNameRegex(item.get<std::string>(), Index(path, i), d)) out.push_back(std::move(*re));
  }
  return out;
}

labels::Selector Canonical(const labels::Selector& s) {
  std::set<std::string> parts;
  for (const auto& r : s.requirements()) parts.insert(r.String());
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : ",") + p;
  auto parsed = labels::Selector::Parse(text);
  return parsed.ok() ? *parsed : s;
}

labels::Selector AndSelectors(const labels::Selector& a, const labels::Selector& b) {
  std::string text = a.String();
  const std::string more = b.String();
  if (!more.empty()) text += (text.empty() ? "" : ",") + more;
  auto parsed = labels::Selector::Parse(text);
  return parsed.ok() ? Canonical(*parsed) : a;
}

labels::Selector ParseLabelSelector(const json* sel, std::string_view path, Diagnostics& d) {
  if (sel == nullptr) return {};
  auto parsed = labels::Selector::FromLabelSelector(*sel, path);
  if (!parsed.ok()) {
    const std::string& m = parsed.status().message();
    const std::size_t colon = m.find(": ");
    if (colon == std::string::npos) {
      d.Error(std::string(path), m);
    } else {
      d.Error(m.substr(0, colon), m.substr(colon + 2));
    }
    return {};
  }
  return Canonical(*parsed);
}

std::optional<GroupVersion> ParseGroupVersion(const json& obj, std::string_view path, Diagnostics& d) {
  GroupVersion gv;
  bool ok = true;
  if (auto group = d.String(obj, "group", path, false)) {
    gv.group = *group;
    if (const auto slash = group->find('/'); slash != std::string::npos) {
      d.Error(Join(path, "group"), "must be an API group without a version (did you mean group " +
                                       Quote(group->substr(0, slash)) + " and version " +
                                       Quote(group->substr(slash + 1)) + "?)");
      ok = false;
    } else if (!group->empty() && !names::IsDns1123Subdomain(*group)) {
      d.Error(Join(path, "group"),
              "invalid API group " + Quote(*group) +
                  ": must be a lower-case DNS subdomain such as \"apps\", or \"\" for the core group");
      ok = false;
    }
  } else if (obj.contains("group") && !obj["group"].is_null()) {
    ok = false;
  }
  if (auto version = d.String(obj, "version", path, true)) {
    gv.version = *version;
    if (const auto slash = version->find('/'); slash != std::string::npos) {
      d.Error(Join(path, "version"), "must be a version without the group (did you mean group " +
                                         Quote(version->substr(0, slash)) + " and version " +
                                         Quote(version->substr(slash + 1)) + "?)");
      ok = false;
    } else if (!IsApiVersion(*version)) {
      d.Error(Join(path, "version"),
              "invalid API version " + Quote(*version) + ": want e.g. \"v1\" or \"v1beta1\"");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (!ok) return std::nullopt;
  return gv;
}

bool ValidateResourceName(const std::string& resource, std::string_view path, Diagnostics& d) {
  const bool valid = !resource.empty() && resource.size() <= 253 &&
                     std::all_of(resource.begin(), resource.end(), [](char c) {
                       return std::islower(static_cast<unsigned char>(c)) ||
                              std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
                     });
  if (valid) return true;
  std::string message = "invalid resource " + Quote(resource) + ": want the plural, lower-case resource name";
  const bool has_upper = std::any_of(resource.begin(), resource.end(),
                                     [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
  if (has_upper && std::all_of(resource.begin(), resource.end(),
                               [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
    message += " (did you mean " + PluralOf(resource) + "?)";
  } else {
    message += ", e.g. \"deployments\"";
  }
  d.Error(std::string(path), message);
  return false;
}

std::optional<std::chrono::seconds> ParseDurationField(const json& obj, std::string_view key,
                                                       std::string_view path, Diagnostics& d) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    d.Error(Join(path, key), "must be a duration string such as \"1h0m0s\" (got " + Describe(*v) + ")");
    return std::nullopt;
  }
  auto parsed = ParseDuration(v->get<std::string>());
  if (!parsed.ok()) {
    d.Error(Join(path, key), parsed.status().message());
    return std::nullopt;
  }
  return *parsed;
}

ComponentSettings ParseComponent(const json& c, std::string_view path, Diagnostics& d) {
  ComponentSettings out;
  d.CheckFields(c, path, {"logLevel", "imagePullPolicy", "resources", "concurrentTasks", "replicas"});
  if (auto level = d.String(c, "logLevel", path, false)) {
    std::string lower = *level;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (std::find(kLogLevels.begin(), kLogLevels.end(), lower) == kLogLevels.end()) {
      std::string message = "unsupported log level " + Quote(*level) + ": want debug, info, warn or error";
      if (auto close = Closest(lower, kLogLevels)) message += " (did you mean " + *close + "?)";
      d.Error(Join(path, "logLevel"), message);
    } else {
      out.log_level = lower;
    }
  }
  if (auto policy = d.String(c, "imagePullPolicy", path, false)) {
    if (std::find(kPullPolicies.begin(), kPullPolicies.end(), *policy) == kPullPolicies.end()) {
      std::string message = "unsupported value " + Quote(*policy) + ": want Always, IfNotPresent or Never";
      if (auto close = Closest(*policy, kPullPolicies)) message += " (did you mean " + *close + "?)";
      d.Error(Join(path, "imagePullPolicy"), message);
    } else {
      out.image_pull_policy = *policy;
    }
  }
  if (auto n = d.Int(c, "replicas", path, false, 0, INT32_MAX)) out.replicas = static_cast<int32_t>(*n);
  if (auto n = d.Int(c, "concurrentTasks", path, false, 1, INT32_MAX))
    out.concurrent_tasks = static_cast<int32_t>(*n);
  const std::string rpath = Join(path, "resources");
  if (const json* res = d.Object(c, "resources", path, false)) {
    d.CheckFields(*res, rpath, {"limits", "requests", "claims"});
    bool ok = true;
    for (const char* key : {"limits", "requests"}) {
      const json* m = d.Object(*res, key, rpath, false);
      if (m == nullptr) {
        ok = ok && Find(*res, key) == nullptr;
        continue;
      }
      for (const auto& [name, q] : m->items()) {
        if (!q.is_string() && !q.is_number()) {
          d.Error(Join(Join(rpath, key), name),
                  "must be a quantity such as \"500m\" or \"1Gi\" (got " + Describe(q) + ")");
          ok = false;
        }
      }
    }
    if (ok) out.resources = *res;
  }
  return out;
}

void ParseCommonConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d) {
  plan.source_cluster = d.String(config, "sourceName", path, true).value_or("");
  plan.destination_cluster = d.String(config, "destinationName", path, true).value_or("");
  if (auto bucket = d.String(config, "bucketName", path, false)) {
    if (bucket->empty()) {
      d.Error(Join(path, "bucketName"), "must not be empty (leave it out when no bucket is used)");
    } else {
      plan.bucket = *bucket;
    }
  }
  const std::string opath = Join(path, "observability");
  if (const json* obs = d.Object(config, "observability", path, false)) {
    d.CheckFields(*obs, opath, {"enabled", "interval"});
    plan.observability.enabled = d.Bool(*obs, "enabled", opath, false).value_or(false);
    plan.observability.interval =
        ParseDurationField(*obs, "interval", opath, d).value_or(std::chrono::seconds(0));
  }
  const std::string cpath = Join(path, "components");
  if (const json* comps = d.Object(config, "components", path, false)) {
    d.CheckFields(*comps, cpath, ComponentNames());
    for (const auto& name : ComponentNames()) {
      const json* c = d.Object(*comps, name, cpath, false);
      if (c != nullptr) plan.components[name] = ParseComponent(*c, Join(cpath, name), d);
    }
  }
}

void WarnUnreachableRules(const std::vector<Rule>& rules, Diagnostics& d) {
  for (std::size_t j = 0; j < rules.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      const Rule& a = rules[i];
      const Rule& b = rules[j];
      if (a.gvr != b.gvr) continue;
      const bool a_selects_all = a.selector.Empty() && a.namespace_selector.Empty() &&
                                 a.include_names.empty() && a.exclude_names.empty();
      const bool same = a.selector.String() == b.selector.String() &&
                        a.namespace_selector.String() == b.namespace_selector.String() &&
                        a.include_names == b.include_names && a.exclude_names == b.exclude_names;
      if (a_selects_all || same) {
        d.Warn(b.source, "never applies: " + a.source + " already selects every " + b.gvr.String() +
                             " object this entry selects (the first matching entry wins)");
        break;
      }
    }
  }
}

}  // namespace kubesync::plan::internal
