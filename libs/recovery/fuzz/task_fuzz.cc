// Fuzz target over the Task decoder (a Task comes from the destination cluster, where
// anyone with write access may have edited it) and over DeriveTask: any document must give
// a TaskSpec or an InvalidArgument error, never a crash or exception; and every plan that
// parses must derive a Task that validates and parses back to the plan's own rules.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kubesync/plan/parse.h"
#include "kubesync/recovery/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kubesync;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = plan::YamlToJson(text);
  if (!docs.ok()) return 0;
  for (const auto& doc : *docs) {
    auto task = recovery::ParseTask(doc);
    if (!task.ok() && task.status().code() != Code::kInvalidArgument) std::abort();
  }
  auto parsed = plan::ParseLiveSynchronizationYaml(text);
  if (!parsed.ok()) return 0;
  const nlohmann::json derived = recovery::DeriveTask(*parsed, "ns");
  auto spec = recovery::ParseTask(derived);
  if (!spec.ok()) std::abort();
  std::size_t i = 0;
  for (const plan::Rule& rule : parsed->rules) {
    if (rule.recovery_patch.empty() && !rule.recover_from_original) continue;
    if (i >= spec->resources.size()) std::abort();
    plan::Rule want = rule;
    want.transformation = {};
    if (!spec->resources[i++].rule.SameAs(want)) std::abort();
  }
  if (i != spec->resources.size()) std::abort();
  return 0;
}
