#include "lexical.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "kubesync/core/names.h"
#include "kubesync/plan/parse.h"
#include "plan_limits.h"

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
  if (!CheckRegexSize(pattern, path, d)) return std::nullopt;  // limits.h
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

}  // namespace kubesync::plan::internal
