#include "kubesync/transform/patch.h"

#include <charconv>
#include <cstddef>
#include <string_view>
#include <utility>

namespace kubesync::transform {
namespace {

using nlohmann::json;

// RFC 6901 array index: "0" or digits without a leading zero.
std::optional<size_t> ParseIndex(const std::string& token) {
  if (token.empty() || token.size() > 18 || (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  size_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size()) {
    return std::nullopt;
  }
  return value;
}

std::string JoinPointer(const std::vector<std::string>& tokens, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    out += '/';
    out += EscapePointerToken(tokens[i]);
  }
  return out;
}

// The location named by tokens[0, count), or nullptr (with the missing prefix in
// `missing`) when some step does not exist.
json* Walk(json& doc, const std::vector<std::string>& tokens, size_t count, std::string& missing) {
  json* cur = &doc;
  for (size_t i = 0; i < count; ++i) {
    const std::string& token = tokens[i];
    if (cur->is_object()) {
      auto it = cur->find(token);
      if (it == cur->end()) {
        missing = JoinPointer(tokens, i + 1);
        return nullptr;
      }
      cur = &*it;
    } else if (cur->is_array()) {
      std::optional<size_t> index = ParseIndex(token);
      if (!index || *index >= cur->size()) {
        missing = JoinPointer(tokens, i + 1);
        return nullptr;
      }
      cur = &(*cur)[*index];
    } else {
      missing = JoinPointer(tokens, i + 1);
      return nullptr;
    }
  }
  return cur;
}

bool IsWithin(const std::string& path, const std::string& ancestor) {
  return path.size() >= ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
         (path.size() == ancestor.size() || path[ancestor.size()] == '/');
}

// Keeps the first record of a location: a later operation on the same location or inside
// an already recorded one is undone by that earlier record (Restore runs in reverse).
void Record(Originals& log, std::string path, std::optional<json> before) {
  for (const OriginalValue& existing : log) {
    if (IsWithin(path, existing.path)) {
      return;
    }
  }
  log.push_back({std::move(path), std::move(before)});
}

Status OpError(size_t index, const plan::PatchOperation& op, const std::string& reason) {
  return InvalidArgumentError("operation " + std::to_string(index) + " (" + std::string(plan::PatchOpName(op.op)) +
                              " " + op.path + "): " + reason);
}

// Applies one operation; returns OK without change when a skippable remove misses.
Status ApplyOne(json& doc, const plan::PatchOperation& op, size_t index, bool skip_missing_remove, Originals& log) {
  auto tokens_or = ParsePointer(op.path);
  if (!tokens_or.ok()) {
    return OpError(index, op, tokens_or.status().message());
  }
  const std::vector<std::string>& tokens = *tokens_or;
  if (tokens.empty()) {
    return OpError(index, op, "the whole object cannot be patched");
  }
  const bool is_remove = op.op == plan::PatchOp::kRemove;
  const bool skippable = is_remove && skip_missing_remove;
  std::string missing;
  json* parent = Walk(doc, tokens, tokens.size() - 1, missing);
  if (parent == nullptr || !(parent->is_object() || parent->is_array())) {
    if (skippable) {
      return OkStatus();
    }
    return OpError(index, op, "doc is missing path: " + (parent == nullptr ? missing : JoinPointer(tokens, tokens.size() - 1)));
  }
  const std::string& last = tokens.back();

  if (parent->is_object()) {
    auto it = parent->find(last);
    const bool exists = it != parent->end();
    switch (op.op) {
      case plan::PatchOp::kAdd:
        Record(log, op.path, exists ? std::optional<json>(*it) : std::nullopt);
        (*parent)[last] = op.value;
        return OkStatus();
      case plan::PatchOp::kReplace:
        if (!exists) {
          return OpError(index, op, "doc is missing key: " + op.path);
        }
        Record(log, op.path, *it);
        *it = op.value;
        return OkStatus();
      case plan::PatchOp::kRemove:
        if (!exists) {
          return skippable ? OkStatus() : OpError(index, op, "doc is missing key: " + op.path);
        }
        Record(log, op.path, *it);
        parent->erase(it);
        return OkStatus();
    }
    return OpError(index, op, "unknown operation");
  }

  // Array parent. Inserting or removing shifts later elements, so the whole array is
  // recorded; replacing one element records just that element.
  const std::string parent_path = JoinPointer(tokens, tokens.size() - 1);
  if (op.op == plan::PatchOp::kAdd) {
    size_t at = parent->size();
    if (last != "-") {
      std::optional<size_t> parsed = ParseIndex(last);
      if (!parsed) {
        return OpError(index, op, "invalid array index: " + last);
      }
      if (*parsed > parent->size()) {
        return OpError(index, op, "index out of bounds: " + op.path);
      }
      at = *parsed;
    }
    Record(log, parent_path, *parent);
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(at), op.value);
    return OkStatus();
  }
  std::optional<size_t> parsed = ParseIndex(last);
  if (!parsed || *parsed >= parent->size()) {
    if (skippable) {
      return OkStatus();
    }
    return OpError(index, op, parsed ? "index out of bounds: " + op.path : "invalid array index: " + last);
  }
  if (op.op == plan::PatchOp::kReplace) {
    Record(log, op.path, (*parent)[*parsed]);
    (*parent)[*parsed] = op.value;
  } else {
    Record(log, parent_path, *parent);
    parent->erase(*parsed);
  }
  return OkStatus();
}

Status RestoreOne(json& obj, const OriginalValue& entry, size_t index) {
  auto fail = [&](const std::string& reason) {
    return InvalidArgumentError("original-values[" + std::to_string(index) + "] (" + entry.path +
                                "): cannot restore: " + reason);
  };
  auto tokens_or = ParsePointer(entry.path);
  if (!tokens_or.ok()) {
    return fail(tokens_or.status().message());
  }
  const std::vector<std::string>& tokens = *tokens_or;
  if (tokens.empty()) {
    return fail("the whole object cannot be restored");
  }
  json* cur = &obj;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (cur->is_null() && entry.value) {
      *cur = json::object();
    }
    if (cur->is_object()) {
      auto it = cur->find(tokens[i]);
      if (it == cur->end()) {
        if (!entry.value) {
          return OkStatus();  // already absent
        }
        cur = &(*cur)[tokens[i]];
        *cur = json::object();
        continue;
      }
      cur = &*it;
    } else if (cur->is_array()) {
      std::optional<size_t> at = ParseIndex(tokens[i]);
      if (!at || *at >= cur->size()) {
        if (!entry.value) {
          return OkStatus();
        }
        return fail("index out of bounds at " + JoinPointer(tokens, i + 1));
      }
      cur = &(*cur)[*at];
    } else {
      if (!entry.value) {
        return OkStatus();
      }
      return fail("not an object or array at " + JoinPointer(tokens, i));
    }
  }
  const std::string& last = tokens.back();
  if (cur->is_null() && entry.value) {
    *cur = json::object();
  }
  if (cur->is_object()) {
    if (entry.value) {
      (*cur)[last] = *entry.value;
    } else {
      cur->erase(last);
    }
    return OkStatus();
  }
  if (cur->is_array()) {
    std::optional<size_t> at = ParseIndex(last);
    if (!entry.value) {
      if (at && *at < cur->size()) {
        cur->erase(*at);
      }
      return OkStatus();
    }
    if (!at || *at > cur->size()) {
      return fail("index out of bounds: " + entry.path);
    }
    if (*at == cur->size()) {
      cur->push_back(*entry.value);
    } else {
      (*cur)[*at] = *entry.value;
    }
    return OkStatus();
  }
  if (!entry.value) {
    return OkStatus();
  }
  return fail("not an object or array at " + JoinPointer(tokens, tokens.size() - 1));
}

}  // namespace

std::string EscapePointerToken(const std::string& token) {
  if (token.find_first_of("~/") == std::string::npos) {
    return token;
  }
  std::string out;
  out.reserve(token.size() + 2);
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::vector<std::string>> ParsePointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer[0] != '/') {
    return InvalidArgumentError("invalid JSON pointer: must start with '/': " + pointer);
  }
  std::string current;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(current));
      current.clear();
      continue;
    }
    char c = pointer[i];
    if (c == '~') {
      char next = i + 1 < pointer.size() ? pointer[i + 1] : '\0';
      if (next != '0' && next != '1') {
        return InvalidArgumentError("invalid JSON pointer: '~' must be followed by '0' or '1': " + pointer);
      }
      current += next == '0' ? '~' : '/';
      ++i;
    } else {
      current += c;
    }
  }
  return tokens;
}

Result<Transformed> ApplyTransformation(const json& cleaned, const std::vector<plan::PatchOperation>& ops,
                                        bool skip_if_not_found_on_delete) {
  Transformed out{cleaned, {}};
  KS_RETURN_IF_ERROR(ApplyTransformationInPlace(out.object, ops, skip_if_not_found_on_delete, out.originals));
  return out;
}

Status ApplyTransformationInPlace(json& obj, const std::vector<plan::PatchOperation>& ops,
                                  bool skip_if_not_found_on_delete, Originals& originals) {
  for (size_t i = 0; i < ops.size(); ++i) {
    KS_RETURN_IF_ERROR(ApplyOne(obj, ops[i], i, skip_if_not_found_on_delete, originals));
  }
  return OkStatus();
}

Status Restore(json& obj, const Originals& originals) {
  for (size_t i = originals.size(); i-- > 0;) {
    KS_RETURN_IF_ERROR(RestoreOne(obj, originals[i], i));
  }
  return OkStatus();
}

json OriginalsToJson(const Originals& originals) {
  json out = json::array();
  for (const OriginalValue& entry : originals) {
    json item = {{"path", entry.path}};
    if (entry.value) {
      item["value"] = *entry.value;
    } else {
      item["absent"] = true;
    }
    out.push_back(std::move(item));
  }
  return out;
}

Result<Originals> OriginalsFromJson(const json& wire) {
  if (!wire.is_array()) {
    return InvalidArgumentError("original-values: must be a JSON array");
  }
  Originals out;
  for (size_t i = 0; i < wire.size(); ++i) {
    const std::string at = "original-values[" + std::to_string(i) + "]";
    const json& item = wire[i];
    if (!item.is_object()) {
      return InvalidArgumentError(at + ": must be an object");
    }
    auto path = item.find("path");
    if (path == item.end() || !path->is_string()) {
      return InvalidArgumentError(at + ".path: required string");
    }
    auto parsed = ParsePointer(path->get<std::string>());
    if (!parsed.ok() || parsed->empty()) {
      return InvalidArgumentError(at + ".path: " +
                                  (parsed.ok() ? std::string("must not be empty") : parsed.status().message()));
    }
    auto value = item.find("value");
    auto absent = item.find("absent");
    const bool is_absent = absent != item.end() && absent->is_boolean() && absent->get<bool>();
    if ((value == item.end()) == !is_absent) {
      return InvalidArgumentError(at + ": exactly one of value and absent=true is required");
    }
    out.push_back({path->get<std::string>(), is_absent ? std::nullopt : std::optional<json>(*value)});
  }
  return out;
}

}  // namespace kubesync::transform
