#include "selector_parts.h"

#include <set>
#include <string>

namespace kubesync::plan::internal {

Result<labels::Selector> Canonical(const labels::Selector& s) {
  std::set<std::string> parts;
  for (const auto& r : s.requirements()) parts.insert(r.String());
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : ",") + p;
  auto parsed = labels::Selector::Parse(text);
  if (!parsed.ok())
    return parsed.status().Annotate("canonical form of label selector \"" + s.String() + "\"");
  return parsed;
}

Result<labels::Selector> AndSelectors(const labels::Selector& a, const labels::Selector& b) {
  std::string text = a.String();
  const std::string more = b.String();
  if (!more.empty()) text += (text.empty() ? "" : ",") + more;
  auto parsed = labels::Selector::Parse(text);
  if (!parsed.ok())
    return parsed.status().Annotate("label selectors \"" + a.String() + "\" and \"" + more + "\"");
  return Canonical(*parsed);
}

labels::Selector AndSelectors(const labels::Selector& a, const labels::Selector& b, std::string_view path,
                              Diagnostics& d) {
  auto joined = AndSelectors(a, b);
  if (!joined.ok()) {
    d.Error(std::string(path), joined.status().message());
    return {};
  }
  return *joined;
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
  auto canonical = Canonical(*parsed);
  if (!canonical.ok()) {
    d.Error(std::string(path), canonical.status().message());
    return {};
  }
  return *canonical;
}

}  // namespace kubesync::plan::internal
