#include "problems.h"

#include <algorithm>

namespace kubesync::controller {

Result<ProblemSummary> ReadProblems(state::RedisClient& redis, std::string_view id, size_t max_examples) {
  state::ProblemStore store(&redis);
  ProblemSummary summary;
  KS_ASSIGN_OR_RETURN(summary.count, store.Count(id));
  if (summary.count > 0 && max_examples > 0) {
    KS_ASSIGN_OR_RETURN(summary.examples, store.List(id, max_examples));
  }
  return summary;
}

std::string ProblemsMessage(const ProblemSummary& summary) {
  if (summary.count <= 0) return "";
  std::string out = std::to_string(summary.count) + (summary.count == 1 ? " object is" : " objects are") +
                    " not replicated";
  std::vector<state::Problem> examples = summary.examples;
  std::sort(examples.begin(), examples.end(),
            [](const state::Problem& a, const state::Problem& b) { return a.object_key < b.object_key; });
  for (size_t i = 0; i < examples.size(); ++i) {
    const state::Problem& p = examples[i];
    out += i == 0 ? ": " : "; ";
    out += p.object_key;
    out += " at resourceVersion ";
    out += std::to_string(p.rv);
    out += " (";
    out += p.reason;
    out += ", ";
    out += p.component;
    out += ": ";
    out.append(p.message, 0, 200);
    if (p.message.size() > 200) out += "...";
    out += ")";
  }
  if (static_cast<int64_t>(examples.size()) < summary.count) out += "; ...";
  return out;
}

}  // namespace kubesync::controller
