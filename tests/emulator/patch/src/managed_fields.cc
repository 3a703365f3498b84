// Server-side apply and managedFields bookkeeping, a simplified model of
// k8s.io/apiserver's field manager (sigs.k8s.io/structured-merge-diff):
//   - every manager entry owns a set of field paths (FieldsV1);
//   - an apply owns exactly the fields of its configuration; fields it owned before and no
//     longer applies are removed from the object unless another entry owns them;
//   - applying a value different from the live one to a field another entry owns is a
//     conflict (409) unless forced, in which case the field changes owner; applying the
//     same value shares ownership;
//   - an update (create/PUT/non-apply PATCH) takes the fields it changed from every other
//     entry; fields it removed leave every entry;
//   - entries with no fields are dropped; entries are sorted like the real server's
//     (operation, time, manager, apiVersion, subresource).
// Simplifications: list merge keys come from the strategic table (one key per list, where
// the real schema sometimes has two, e.g. containerPort+protocol); conflicts are found on
// leaves, not on structural changes.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "field_set.h"
#include "kubesync/emulator/patch.h"
#include "schema.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;
using internal::CollectLeaves;
using internal::FieldPath;
using internal::FieldSet;
using internal::LeafMap;

struct Entry {
  json raw;  // the entry as stored, fieldsV1 re-encoded from `fields` when written back
  std::string manager;
  std::string operation;
  std::string subresource;
  FieldSet fields;
  bool changed = false;
};

std::vector<Entry> ParseEntries(const json& managed_fields) {
  std::vector<Entry> out;
  if (!managed_fields.is_array()) return out;
  for (const json& raw : managed_fields) {
    if (!raw.is_object()) continue;
    Entry e;
    e.raw = raw;
    e.manager = raw.value("manager", "");
    e.operation = raw.value("operation", "");
    e.subresource = raw.value("subresource", "");
    if (raw.contains("fieldsV1")) e.fields = internal::DecodeFieldsV1(raw["fieldsV1"]);
    out.push_back(std::move(e));
  }
  return out;
}

const json* ManagedFieldsOf(const json& object) {
  if (!object.is_object()) return nullptr;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return nullptr;
  auto mf = meta->find("managedFields");
  return mf == meta->end() ? nullptr : &*mf;
}

json EncodeEntries(std::vector<Entry>& entries) {
  std::vector<json> out;
  for (Entry& e : entries) {
    if (e.fields.empty()) continue;
    json raw = e.raw;
    raw["fieldsType"] = "FieldsV1";
    raw["fieldsV1"] = internal::EncodeFieldsV1(e.fields);
    out.push_back(std::move(raw));
  }
  std::stable_sort(out.begin(), out.end(), [](const json& p, const json& q) {
    auto field = [](const json& j, const char* k) { return j.value(k, std::string()); };
    for (const char* k : {"operation", "time", "manager", "apiVersion", "subresource"}) {
      if (field(p, k) != field(q, k)) return field(p, k) < field(q, k);
    }
    return false;
  });
  return json(out);
}

void SetManagedFields(json& object, json entries) {
  if (entries.empty()) {
    if (object.contains("metadata") && object["metadata"].is_object())
      object["metadata"].erase("managedFields");
    return;
  }
  object["metadata"]["managedFields"] = std::move(entries);
}

// Drops nulls (an apply configuration's null means "not specified").
json DropNulls(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, c] : v.items()) {
      if (!c.is_null()) out[k] = DropNulls(c);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& c : v) out.push_back(DropNulls(c));
    return out;
  }
  return v;
}

// Merges an apply configuration into the live object: maps recursively, lists of the
// strategic table by merge key (primitive ones as a set), every other list atomically.
json MergeApplied(const json& live, const json& applied, const TypeRef& type, const std::string& sp) {
  if (live.is_object() && applied.is_object()) {
    json out = live;
    for (const auto& [k, v] : applied.items()) {
      auto it = out.find(k);
      out[k] = it == out.end() ? v : MergeApplied(*it, v, type, internal::SchemaChild(sp, k));
    }
    return out;
  }
  if (live.is_array() && applied.is_array()) {
    const internal::ListStrategy* strategy = internal::FindListStrategy(type, sp);
    if (strategy == nullptr) return applied;
    json out = live;
    const std::string& key = strategy->merge_key;
    for (const json& e : applied) {
      if (key.empty()) {
        if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
        continue;
      }
      auto it = std::find_if(out.begin(), out.end(), [&](const json& o) {
        return o.is_object() && e.is_object() && o.contains(key) && e.contains(key) && o[key] == e[key];
      });
      if (it == out.end()) {
        out.push_back(e);
      } else {
        *it = MergeApplied(*it, e, type, internal::SchemaElement(sp));
      }
    }
    return out;
  }
  return applied;
}

bool OwnsDescendant(const FieldSet& set, const FieldPath& p) {
  // Descendants of p sort right after p.
  auto it = set.upper_bound(p);
  return it != set.end() && it->size() > p.size() && std::equal(p.begin(), p.end(), it->begin());
}

// Removes now-empty maps and lists above removed fields, unless some entry owns them.
void PruneEmptyAncestors(json& object, const std::vector<FieldPath>& removed,
                         const std::vector<Entry>& entries) {
  std::vector<FieldPath> ancestors;
  for (const FieldPath& p : removed) {
    for (size_t n = p.size() - 1; n > 0; --n)
      ancestors.emplace_back(p.begin(), p.begin() + static_cast<long>(n));
  }
  std::sort(ancestors.begin(), ancestors.end(), [](const FieldPath& a, const FieldPath& b) {
    return a.size() > b.size() || (a.size() == b.size() && a < b);
  });
  ancestors.erase(std::unique(ancestors.begin(), ancestors.end()), ancestors.end());
  for (const FieldPath& a : ancestors) {
    if (a.size() == 1 && a[0] == "f:metadata") continue;
    json* v = internal::ResolveFieldPath(object, a);
    if (v == nullptr || !(v->is_object() || v->is_array()) || !v->empty()) continue;
    bool owned =
        std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.fields.count(a) > 0; });
    if (!owned) internal::RemoveFieldPath(object, a);
  }
}

bool IsApplyEntryOf(const Entry& e, const std::string& manager) {
  return e.manager == manager && e.operation == "Apply" && e.subresource.empty();
}

}  // namespace

std::string ConflictMessage(const std::vector<ApplyConflict>& conflicts) {
  std::string out = "Apply failed with " + std::to_string(conflicts.size()) +
                    (conflicts.size() == 1 ? " conflict: " : " conflicts: ");
  if (conflicts.size() == 1) {
    return out + "conflict with \"" + conflicts[0].manager + "\": " + conflicts[0].field;
  }
  for (size_t i = 0; i < conflicts.size(); ++i) {
    if (i > 0) out += "\n";
    out += "conflict with \"" + conflicts[i].manager + "\": " + conflicts[i].field;
  }
  return out;
}

Result<ApplyOutcome> ServerSideApply(const std::optional<json>& live, const json& applied,
                                     const TypeRef& type, const ApplyOptions& options) {
  if (options.field_manager.empty()) {
    Status s = InvalidArgumentError("fieldManager: Required value: is required for apply patch");
    s.WithHttp(422, "Invalid");
    return s;
  }
  if (!applied.is_object()) {
    Status s = InvalidArgumentError(std::string("error decoding YAML: cannot unmarshal ") +
                                    applied.type_name() + " into Go value of type map[string]interface {}");
    s.WithHttp(400, "BadRequest");
    return s;
  }
  json config = DropNulls(applied);
  if (config.contains("metadata") && config["metadata"].is_object())
    config["metadata"].erase("managedFields");

  json object = live.has_value() && live->is_object() ? *live : json::object();
  const json* existing = ManagedFieldsOf(object);
  std::vector<Entry> entries = ParseEntries(existing != nullptr ? *existing : json::array());

  const json stripped_config = internal::StripSystemFields(config);
  const LeafMap applied_leaves = CollectLeaves(stripped_config, type);
  const json stripped_live = internal::StripSystemFields(object);
  const LeafMap live_leaves = CollectLeaves(stripped_live, type);

  // Conflicts: another manager owns a field this apply sets to a different value.
  std::vector<ApplyConflict> conflicts;
  std::vector<std::pair<size_t, FieldPath>> taken;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.manager == options.field_manager) continue;
    for (const auto& [path, leaf] : applied_leaves) {
      if (leaf.is_item || e.fields.count(path) == 0) continue;
      auto live_leaf = live_leaves.find(path);
      if (live_leaf == live_leaves.end() || live_leaf->second.is_item) continue;
      if (*live_leaf->second.value != *leaf.value) {
        conflicts.push_back(ApplyConflict{e.manager, internal::FieldPathString(path)});
        taken.emplace_back(i, path);
      }
    }
  }
  if (!conflicts.empty() && !options.force) {
    return ApplyOutcome{object, std::move(conflicts)};
  }
  for (const auto& [i, path] : taken) {
    entries[i].fields.erase(path);
    entries[i].changed = true;
  }

  auto mine = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& e) { return IsApplyEntryOf(e, options.field_manager); });
  const FieldSet previous = mine != entries.end() ? mine->fields : FieldSet();
  FieldSet now = internal::KeysOf(applied_leaves);

  // Fields this manager applied before and no longer applies, and nobody else owns.
  std::vector<FieldPath> removed;
  for (const FieldPath& p : previous) {
    if (now.count(p) > 0) continue;
    bool shared = std::any_of(entries.begin(), entries.end(), [&](const Entry& e) {
      return !IsApplyEntryOf(e, options.field_manager) &&
             (e.fields.count(p) > 0 || OwnsDescendant(e.fields, p));
    });
    if (!shared && !OwnsDescendant(now, p)) removed.push_back(p);
  }
  // Shallowest first: removing a keyed element takes its fields with it (removing its key
  // field first would leave the element unfindable).
  std::stable_sort(removed.begin(), removed.end(),
                   [](const FieldPath& a, const FieldPath& b) { return a.size() < b.size(); });
  for (const FieldPath& p : removed) internal::RemoveFieldPath(object, p);

  json before = object;
  object = MergeApplied(object, config, type, "");

  if (mine == entries.end()) {
    Entry e;
    e.manager = options.field_manager;
    e.operation = "Apply";
    e.raw = json{{"manager", options.field_manager}, {"operation", "Apply"}};
    entries.push_back(std::move(e));
    mine = entries.end() - 1;
    mine->changed = true;
  }
  if (mine->fields != now || !removed.empty() || before != object) mine->changed = true;
  mine->fields = std::move(now);
  if (mine->changed) {
    mine->raw["apiVersion"] = config.value("apiVersion", std::string());
    mine->raw["time"] = options.time;
  }
  PruneEmptyAncestors(object, removed, entries);
  SetManagedFields(object, EncodeEntries(entries));
  return ApplyOutcome{std::move(object), {}};
}

void RecordUpdateManagedFields(json& object, const std::optional<json>& previous, const std::string& manager,
                               const std::string& api_version, const std::string& subresource,
                               const std::string& time) {
  if (!object.is_object()) return;
  const json* carried = ManagedFieldsOf(object);
  if (carried == nullptr && previous.has_value()) carried = ManagedFieldsOf(*previous);
  std::vector<Entry> entries = ParseEntries(carried != nullptr ? *carried : json::array());

  // The part of the object this write may touch.
  auto in_scope = [&](const FieldPath& p) {
    const bool is_status = !p.empty() && p[0] == "f:status";
    return subresource == "status" ? is_status : !is_status;
  };
  const json new_stripped = internal::StripSystemFields(object);
  const json old_stripped = previous.has_value() ? internal::StripSystemFields(*previous) : json::object();
  // Keyed lists need the kind's schema, taken from the object's apiVersion and kind.
  TypeRef type;
  {
    const std::string av = object.value("apiVersion", std::string());
    auto slash = av.find('/');
    type.group = slash == std::string::npos ? "" : av.substr(0, slash);
    type.version = slash == std::string::npos ? av : av.substr(slash + 1);
    type.kind = object.value("kind", std::string());
  }
  const LeafMap now = CollectLeaves(new_stripped, type);
  const LeafMap before = CollectLeaves(old_stripped, type);

  FieldSet changed;
  FieldSet removed;
  for (const auto& [p, leaf] : now) {
    if (!in_scope(p)) continue;
    auto it = before.find(p);
    if (it == before.end() || (!leaf.is_item && *it->second.value != *leaf.value)) changed.insert(p);
  }
  for (const auto& [p, leaf] : before) {
    if (in_scope(p) && now.count(p) == 0) removed.insert(p);
  }

  auto mine = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) {
    return e.manager == manager && e.operation == "Update" && e.subresource == subresource;
  });
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    for (const FieldPath& p : removed) {
      if (it->fields.erase(p) > 0) it->changed = true;
    }
    if (it == mine) continue;
    for (const FieldPath& p : changed) {
      if (it->fields.erase(p) > 0) it->changed = true;
    }
  }
  if (!changed.empty()) {
    if (mine == entries.end()) {
      Entry e;
      e.manager = manager;
      e.operation = "Update";
      e.subresource = subresource;
      e.raw = json{{"manager", manager}, {"operation", "Update"}};
      if (!subresource.empty()) e.raw["subresource"] = subresource;
      entries.push_back(std::move(e));
      mine = entries.end() - 1;
    }
    mine->fields.insert(changed.begin(), changed.end());
    mine->raw["apiVersion"] = api_version;
    mine->raw["time"] = time;
  }
  SetManagedFields(object, EncodeEntries(entries));
}

}  // namespace kubesync::emulator
