// application/strategic-merge-patch+json, following k8s.io/apimachinery
// pkg/util/strategicpatch/patch.go (mergeMap, mergeSlice, mergePatchIntoOriginal) with the
// options the API server uses (MergeParallelList and IgnoreUnmatchedNulls both true):
//   - null deletes a field; maps merge recursively; lists with patchStrategy "merge" merge
//     by their patchMergeKey (lists of primitives merge as a set); other lists are replaced;
//   - {"$patch":"replace"} in a map replaces it, {"$patch":"delete"} empties it; in a
//     list, {"$patch":"delete", key: v} deletes the element, {"$patch":"replace"} replaces
//     the list by the other elements;
//   - "$retainKeys": [...] drops the original's keys not listed;
//   - "$setElementOrder/<list>" fixes the order of the patched list;
//   - "$deleteFromPrimitiveList/<list>" removes values from a primitive merge list.
// Order of a merged list as in the real code: patch items keep the patch order, server-only
// items keep the live order, and where the live order cannot place a patch item (a new
// one) it goes first (so a strategic patch adding a finalizer or container prepends it).
#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/emulator/patch.h"
#include "schema.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;
using internal::FindListStrategy;
using internal::ListStrategy;
using internal::SchemaChild;
using internal::SchemaElement;

constexpr std::string_view kDirectiveMarker = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrderPrefix = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool IsDirectiveKey(std::string_view key) {
  return key == kDirectiveMarker || key == kRetainKeys || StartsWith(key, kSetElementOrderPrefix) ||
         StartsWith(key, kDeleteFromPrimitiveListPrefix);
}

// Errors the server answers with 400 (mergepatch.ErrBadPatchFormat* and friends).
Status BadRequest(std::string message) {
  Status s = InvalidArgumentError(std::move(message));
  s.WithHttp(400, "BadRequest");
  return s;
}

// Errors of a well-formed patch that cannot be applied.
Status Invalid(std::string message) {
  Status s = InvalidArgumentError(std::move(message));
  s.WithHttp(422, "Invalid");
  return s;
}

Status NoMergeKey(const json& m, const std::string& key) {
  return Invalid("map: " + m.dump() + " does not contain declared merge key: " + key);
}

// What the typed round trip of the real server does to values taken from the patch
// as-is: nulls inside maps and leftover directive keys disappear.
json Clean(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, child] : v.items()) {
      if (!child.is_null() && !IsDirectiveKey(k)) {
        out[k] = Clean(child);
      }
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& child : v) {
      out.push_back(Clean(child));
    }
    return out;
  }
  return v;
}

// Element kind of a list for the "same type" check (Go compares reflect types).
int TypeClass(const json& v) {
  if (v.is_object()) return 0;
  if (v.is_array()) return 1;
  if (v.is_string()) return 2;
  if (v.is_number()) return 3;
  if (v.is_boolean()) return 4;
  return 5;
}

// sliceElementType: all elements of all lists share one type, which is not a list.
// Returns false in `found` when the lists are all empty.
Status ElementType(const std::vector<const json*>& lists, bool& found, bool& is_map) {
  found = false;
  int cls = -1;
  for (const json* list : lists) {
    for (const json& v : *list) {
      int c = TypeClass(v);
      if (cls == -1) {
        if (c == 1) {
          return Invalid("lists of lists are not supported");
        }
        cls = c;
      } else if (c != cls) {
        json all = json::array();
        for (const json* l : lists) all.push_back(*l);
        return Invalid("list element types are not identical: " + all.dump());
      }
    }
  }
  found = cls != -1;
  is_map = cls == 0;
  return OkStatus();
}

// Index of `item` in `order`, by merge key for maps, by value otherwise; -1 when absent.
int IndexOf(const json& order, const json& item, const std::string& merge_key, bool is_map) {
  for (size_t i = 0; i < order.size(); ++i) {
    if (is_map) {
      const json& o = order[i];
      if (o.is_object() && item.is_object() && o.contains(merge_key) && item.contains(merge_key) &&
          o[merge_key] == item[merge_key]) {
        return static_cast<int>(i);
      }
    } else if (order[i] == item) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool IsDeleteElement(const json& v) {
  return v.is_object() && v.contains(kDirectiveMarker) && v[std::string(kDirectiveMarker)] == "delete";
}

// normalizeSliceOrder: sorts `to_sort` by the position of each item in `order`.
Result<json> SortByOrder(const json& to_sort, const json& order, const std::string& merge_key, bool is_map) {
  std::vector<json> keep;
  std::vector<json> deletes;
  for (const json& v : to_sort) {
    if (is_map) {
      if (!v.is_object() || !v.contains(merge_key)) {
        return NoMergeKey(v, merge_key);
      }
      if (IsDeleteElement(v)) {
        deletes.push_back(v);
        continue;
      }
    }
    keep.push_back(v);
  }
  std::stable_sort(keep.begin(), keep.end(), [&](const json& a, const json& b) {
    int ia = IndexOf(order, a, merge_key, is_map);
    int ib = IndexOf(order, b, merge_key, is_map);
    return (ia < 0 ? INT_MAX : ia) < (ib < 0 ? INT_MAX : ib);
  });
  json out = json::array();
  for (auto& v : keep) out.push_back(std::move(v));
  for (auto& v : deletes) out.push_back(std::move(v));
  return out;
}

// normalizeElementOrder + mergeSortedSlice: interleaves server-only items (left) into
// patch items (right) by the live order; an item the live order cannot place loses to the
// patch item.
Result<json> NormalizeOrder(const json& patch_items, const json& server_only, const json& patch_order,
                            const json& server_order, const std::string& merge_key, bool is_map) {
  KS_ASSIGN_OR_RETURN(json right, SortByOrder(patch_items, patch_order, merge_key, is_map));
  KS_ASSIGN_OR_RETURN(json left, SortByOrder(server_only, server_order, merge_key, is_map));
  json out = json::array();
  size_t i = 0;
  size_t j = 0;
  while (i < left.size() || j < right.size()) {
    if (i >= left.size()) {
      out.push_back(right[j++]);
    } else if (j >= right.size()) {
      out.push_back(left[i++]);
    } else {
      int li = IndexOf(server_order, left[i], merge_key, is_map);
      int ri = IndexOf(server_order, right[j], merge_key, is_map);
      if (li >= 0 && ri >= 0 && li < ri) {
        out.push_back(left[i++]);
      } else {
        out.push_back(right[j++]);
      }
    }
  }
  return out;
}

// Splits `merged` into the items present in `by` and the others (server-only).
Status Partition(const json& merged, const json& by, const std::string& merge_key, bool is_map,
                 json& in_patch, json& server_only) {
  in_patch = json::array();
  server_only = json::array();
  for (const json& v : merged) {
    if (is_map && !merge_key.empty() && (!v.is_object() || !v.contains(merge_key))) {
      return NoMergeKey(v, merge_key);
    }
    bool found =
        is_map && !merge_key.empty() ? IndexOf(by, v, merge_key, true) >= 0 : IndexOf(by, v, "", false) >= 0;
    (found ? in_patch : server_only).push_back(v);
  }
  return OkStatus();
}

class Merger {
 public:
  explicit Merger(const TypeRef& type) : type_(type) {}

  Result<json> MergeMap(json original, json patch, const std::string& sp) {
    if (patch.contains(kDirectiveMarker)) {
      const json directive = patch[std::string(kDirectiveMarker)];
      if (directive == "replace") {
        patch.erase(std::string(kDirectiveMarker));
        return Clean(patch);
      }
      if (directive == "delete") {
        return json::object();
      }
      return Invalid("unknown patch type: " + directive.dump() + " in map: " + patch.dump());
    }
    if (!original.is_object()) {
      original = json::object();
    }
    KS_RETURN_IF_ERROR(ApplyRetainKeys(original, patch));
    KS_RETURN_IF_ERROR(ApplySetElementOrder(original, patch, sp));

    std::vector<std::pair<std::string, json>> delete_lists;
    for (auto& [key, patch_value] : patch.items()) {
      if (StartsWith(key, kDeleteFromPrimitiveListPrefix)) {
        delete_lists.emplace_back(key.substr(kDeleteFromPrimitiveListPrefix.size()), patch_value);
        continue;
      }
      const std::string child = SchemaChild(sp, key);
      if (patch_value.is_null()) {
        original.erase(key);
        continue;
      }
      auto it = original.find(key);
      if (it == original.end() || TypeClass(*it) != TypeClass(patch_value) ||
          !(patch_value.is_object() || patch_value.is_array())) {
        KS_ASSIGN_OR_RETURN(original[key], NewValue(patch_value, child));
        continue;
      }
      if (patch_value.is_object()) {
        KS_ASSIGN_OR_RETURN(original[key], MergeMap(std::move(*it), std::move(patch_value), child));
        continue;
      }
      const ListStrategy* strategy = FindListStrategy(type_, child);
      if (strategy == nullptr) {
        original[key] = Clean(patch_value);
        continue;
      }
      KS_ASSIGN_OR_RETURN(original[key], MergeSlice(std::move(*it), patch_value, child, *strategy));
    }
    for (auto& [key, to_delete] : delete_lists) {
      KS_RETURN_IF_ERROR(DeleteFromPrimitiveList(original, key, to_delete));
    }
    return original;
  }

 private:
  // A patch value with no counterpart in the original: taken as is, with directives and
  // nulls resolved the way the typed round trip of the real server does.
  Result<json> NewValue(const json& v, const std::string& sp) {
    if (v.is_object()) {
      return MergeMap(json::object(), v, sp);
    }
    if (v.is_array() && FindListStrategy(type_, sp) != nullptr) {
      json out = json::array();
      for (const json& e : v) {
        if (e.is_object() && e.contains(kDirectiveMarker)) {
          continue;  // deleting an absent element, or a replace marker: nothing to keep
        }
        if (e.is_object()) {
          KS_ASSIGN_OR_RETURN(json merged, MergeMap(json::object(), e, SchemaElement(sp)));
          out.push_back(std::move(merged));
        } else {
          out.push_back(e);
        }
      }
      return out;
    }
    return Clean(v);
  }

  Status ApplyRetainKeys(json& original, json& patch) {
    auto it = patch.find(kRetainKeys);
    if (it == patch.end()) {
      return OkStatus();
    }
    json retain = *it;
    patch.erase(it);
    if (!retain.is_array()) {
      return BadRequest("invalid patch format of retainKeys");
    }
    auto retained = [&](const std::string& k) {
      return std::any_of(retain.begin(), retain.end(), [&](const json& r) { return r == k; });
    };
    for (const auto& [k, v] : patch.items()) {
      if (v.is_null() || StartsWith(k, kDeleteFromPrimitiveListPrefix) ||
          StartsWith(k, kSetElementOrderPrefix)) {
        continue;
      }
      if (!retained(k)) {
        return Invalid("patch content doesn't match retainKeys list");
      }
    }
    std::vector<std::string> drop;
    for (const auto& [k, v] : original.items()) {
      if (!retained(k)) drop.push_back(k);
    }
    for (const auto& k : drop) original.erase(k);
    return OkStatus();
  }

  // mergePatchIntoOriginal: merges each list that has a $setElementOrder directive and
  // orders it by the directive; the merged list leaves the patch.
  Status ApplySetElementOrder(json& original, json& patch, const std::string& sp) {
    std::vector<std::string> directives;
    for (const auto& [k, v] : patch.items()) {
      if (StartsWith(k, kSetElementOrderPrefix)) directives.push_back(k);
    }
    for (const std::string& directive : directives) {
      json order = patch[directive];
      patch.erase(directive);
      if (!order.is_array()) {
        return BadRequest("invalid patch format of setElementOrder list");
      }
      const std::string key = directive.substr(kSetElementOrderPrefix.size());
      if (key.empty()) {
        return BadRequest("invalid patch format of setElementOrder list");
      }
      const std::string child = SchemaChild(sp, key);
      const ListStrategy* strategy = FindListStrategy(type_, child);
      const std::string merge_key = strategy != nullptr ? strategy->merge_key : "";
      auto orig_it = original.find(key);
      auto patch_it = patch.find(key);
      const bool found_original = orig_it != original.end() && !orig_it->is_null();
      const bool found_patch = patch_it != patch.end() && !patch_it->is_null();
      if (found_original && !orig_it->is_array()) {
        return Invalid("expected a []interface {}, but received a " + std::string(orig_it->type_name()));
      }
      if (found_patch && !patch_it->is_array()) {
        return Invalid("expected a []interface {}, but received a " + std::string(patch_it->type_name()));
      }
      const json original_list = found_original ? *orig_it : json::array();
      const json patch_list = found_patch ? *patch_it : json::array();
      KS_RETURN_IF_ERROR(ValidateOrderList(patch_list, order, merge_key));
      json merged;
      if (found_original && !found_patch) {
        merged = original_list;
      } else if (!found_original && found_patch) {
        KS_ASSIGN_OR_RETURN(merged, NewValue(patch_list, child));
      } else if (found_original && found_patch) {
        if (strategy != nullptr) {
          KS_ASSIGN_OR_RETURN(merged, MergeSlice(original_list, patch_list, child, *strategy));
        } else {
          merged = Clean(patch_list);
        }
      } else {
        continue;
      }
      bool any = false;
      bool is_map = false;
      KS_RETURN_IF_ERROR(ElementType({&original_list, &patch_list}, any, is_map));
      if (!any) {
        original[key] = merged;
        patch.erase(key);
        continue;
      }
      json in_patch;
      json server_only;
      KS_RETURN_IF_ERROR(Partition(merged, order, merge_key, is_map, in_patch, server_only));
      KS_ASSIGN_OR_RETURN(original[key], NormalizeOrder(in_patch, server_only, order, original_list,
                                                        merge_key, is_map && !merge_key.empty()));
      patch.erase(key);
    }
    return OkStatus();
  }

  // validatePatchWithSetOrderList: the patch list's items appear in the order list, in
  // the same relative order (deletions ignored).
  static Status ValidateOrderList(const json& patch_list, const json& order, const std::string& merge_key) {
    if (order.empty() || patch_list.empty()) {
      return OkStatus();
    }
    std::vector<json> items;
    for (const json& v : patch_list) {
      if (!merge_key.empty()) {
        if (!v.is_object()) {
          return Invalid("expected a map[string]interface {}, but received a " + std::string(v.type_name()));
        }
        if (IsDeleteElement(v)) continue;
      }
      items.push_back(v);
    }
    size_t pi = 0;
    size_t oi = 0;
    while (pi < items.size() && oi < order.size()) {
      const json& item = items[pi];
      if (item.is_object() && item.contains(kDirectiveMarker)) {
        ++pi;
        continue;
      }
      bool equal = false;
      if (merge_key.empty()) {
        equal = item == order[oi];
      } else {
        if (!item.contains(merge_key)) return NoMergeKey(item, merge_key);
        if (!order[oi].is_object() || !order[oi].contains(merge_key)) return NoMergeKey(order[oi], merge_key);
        equal = item[merge_key] == order[oi][merge_key];
      }
      if (equal) ++pi;
      ++oi;
    }
    if (pi < items.size()) {
      return Invalid("The order in patch list:\n" + patch_list.dump() +
                     "\n doesn't match $setElementOrder list:\n" + order.dump() + "\n");
    }
    return OkStatus();
  }

  Result<json> MergeSlice(json original, json patch, const std::string& sp, const ListStrategy& strategy) {
    if (original.empty() && patch.empty()) {
      return original;
    }
    bool any = false;
    bool is_map = false;
    KS_RETURN_IF_ERROR(ElementType({&original, &patch}, any, is_map));
    const std::string& merge_key = strategy.merge_key;
    json merged = json::array();
    if (!is_map) {
      for (const json* list : {&original, &patch}) {
        for (const json& v : *list) {
          if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
        }
      }
    } else {
      if (merge_key.empty()) {
        return Invalid("cannot merge lists without merge key for " + sp);
      }
      // mergeSliceWithSpecialElements.
      json plain = json::array();
      bool replace = false;
      for (const json& v : patch) {
        auto directive = v.find(kDirectiveMarker);
        if (directive == v.end()) {
          plain.push_back(v);
        } else if (*directive == "delete") {
          if (!v.contains(merge_key)) return NoMergeKey(v, merge_key);
          json kept = json::array();
          for (const json& o : original) {
            if (!(o.is_object() && o.contains(merge_key) && o[merge_key] == v[merge_key])) kept.push_back(o);
          }
          original = std::move(kept);
        } else if (*directive == "replace") {
          replace = true;
        } else if (*directive == "merge") {
          return Invalid("merging lists cannot yet be specified in the patch");
        } else {
          return Invalid("unknown patch type: " + directive->dump() + " in map: " + v.dump());
        }
      }
      if (replace) {
        original = json::array();
        for (const json& v : plain) {
          KS_ASSIGN_OR_RETURN(json cleaned, MergeMap(json::object(), v, SchemaElement(sp)));
          original.push_back(std::move(cleaned));
        }
        patch = json::array();
      } else {
        patch = std::move(plain);
      }
      // mergeSliceWithoutSpecialElements.
      merged = original;
      for (const json& v : patch) {
        if (!v.contains(merge_key)) return NoMergeKey(v, merge_key);
        int idx = IndexOf(merged, v, merge_key, true);
        if (idx >= 0) {
          KS_ASSIGN_OR_RETURN(merged[idx], MergeMap(std::move(merged[idx]), v, SchemaElement(sp)));
        } else {
          KS_ASSIGN_OR_RETURN(json added, MergeMap(json::object(), v, SchemaElement(sp)));
          merged.push_back(std::move(added));
        }
      }
    }
    json in_patch;
    json server_only;
    KS_RETURN_IF_ERROR(Partition(merged, patch, merge_key, is_map, in_patch, server_only));
    return NormalizeOrder(in_patch, server_only, patch, original, merge_key, is_map);
  }

  Status DeleteFromPrimitiveList(json& original, const std::string& key, const json& to_delete) {
    if (key.empty()) {
      return BadRequest("invalid patch format of primitive list");
    }
    if (!to_delete.is_array()) {
      return Invalid("expected a []interface {}, but received a " + std::string(to_delete.type_name()));
    }
    auto it = original.find(key);
    if (it == original.end()) {
      return OkStatus();
    }
    if (!it->is_array()) {
      return Invalid("expected a []interface {}, but received a " + std::string(it->type_name()));
    }
    json kept = json::array();
    for (const json& v : *it) {
      if (std::find(to_delete.begin(), to_delete.end(), v) == to_delete.end()) kept.push_back(v);
    }
    *it = std::move(kept);
    return OkStatus();
  }

  const TypeRef& type_;
};

}  // namespace

Result<json> ApplyStrategicMergePatch(const json& target, const json& patch, const TypeRef& type) {
  if (!HasStrategicSchema(type)) {
    Status s = UnimplementedError(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
    s.WithHttp(415, "UnsupportedMediaType");
    return s;
  }
  if (!patch.is_object()) {
    return BadRequest(std::string("json: cannot unmarshal ") + patch.type_name() +
                      " into Go value of type map[string]interface {}");
  }
  Merger merger(type);
  return merger.MergeMap(target.is_object() ? target : json::object(), patch, "");
}

}  // namespace kubesync::emulator
