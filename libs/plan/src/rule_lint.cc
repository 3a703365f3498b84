#include "rule_lint.h"

namespace kubesync::plan::internal {

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
