// Kubernetes label and field selectors: the string form of LIST/WATCH `labelSelector` and
// `fieldSelector` query parameters (k8s.io/apimachinery pkg/labels and pkg/fields), and the
// structured `LabelSelector` (matchLabels + matchExpressions) of Kubernetes objects and
// kubesync's configuration. Pure values: cheap to copy, thread-compatible.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kubesync/core/status.h"

namespace kubesync::labels {

enum class Operator { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };

struct Requirement {
  std::string key;
  Operator op = Operator::kExists;
  std::vector<std::string> values;  // sorted; one value for =, !=, >, <

  bool Matches(const std::map<std::string, std::string>& labels) const;
  std::string String() const;
  friend bool operator==(const Requirement&, const Requirement&) = default;
};

class Selector {
 public:
  // The empty selector: matches everything.
  Selector() = default;

  // Parses "a=b,c!=d,e in (f,g),!h,i" (comma = AND). Errors are kInvalidArgument with a
  // message that quotes the offending part; the API server answers 400 BadRequest with it.
  static Result<Selector> Parse(std::string_view text);

  // From a LabelSelector object ({"matchLabels":{...},"matchExpressions":[{key,operator,
  // values}]}); null or {} is the empty selector. `field_path` prefixes error messages, e.g.
  // "spec.selector.matchExpressions[1].operator: unsupported value \"Equals\"".
  static Result<Selector> FromLabelSelector(const nlohmann::json& label_selector,
                                            std::string_view field_path = "selector");

  // `labels` is a metadata.labels object (or null/absent: no labels).
  bool Matches(const nlohmann::json& labels) const;
  bool Matches(const std::map<std::string, std::string>& labels) const;

  bool Empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // Canonical string form (requirements sorted by key), parseable by Parse.
  std::string String() const;

 private:
  std::vector<Requirement> requirements_;
};

struct FieldRequirement {
  std::string field;
  Operator op = Operator::kEquals;  // kEquals or kNotEquals
  std::string value;
  friend bool operator==(const FieldRequirement&, const FieldRequirement&) = default;
};

class FieldSelector {
 public:
  FieldSelector() = default;
  // Parses "metadata.name=a,metadata.namespace!=b" (also "=="; backslash escapes). Which
  // fields are allowed is the caller's decision (the API server knows per resource).
  static Result<FieldSelector> Parse(std::string_view text);

  const std::vector<FieldRequirement>& requirements() const { return requirements_; }
  bool Empty() const { return requirements_.empty(); }
  // `lookup` returns the object's value of a field ("" when absent).
  template <typename Lookup>
  bool Matches(Lookup&& lookup) const {
    for (const auto& r : requirements_) {
      const bool equal = lookup(r.field) == r.value;
      if (equal != (r.op == Operator::kEquals)) return false;
    }
    return true;
  }

 private:
  std::vector<FieldRequirement> requirements_;
};

// Validates a label key (optional DNS-subdomain prefix + '/' + name of at most 63
// characters) and a label value; the message says what is wrong.
Status ValidateLabelKey(std::string_view key);
Status ValidateLabelValue(std::string_view value);

}  // namespace kubesync::labels
