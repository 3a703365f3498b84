// Fuzz target over the Task decoder (a Task comes from the destination cluster, where
// anyone with write access may have edited it) and over DeriveTask: any document must give
// a TaskSpec or an InvalidArgument error, never a crash or exception; and every plan that
// parses must derive a Task that validates and parses back to the plan's own rules (with
// the derived restores of transformed fields that have no recovery step).
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
    // A transformed rule always has an entry: its explicit recovery, or a derived one.
    if (rule.recovery_patch.empty() && !rule.recover_from_original && rule.transformation.empty()) continue;
    if (i >= spec->resources.size()) std::abort();
    const recovery::TaskResource& got = spec->resources[i++];
    plan::Rule want = rule;
    want.transformation = {};
    if (!got.original_paths.empty()) {
      // Derived: only when fromOriginal was not asked, and only transformed paths.
      if (rule.recover_from_original) std::abort();
      want.recover_from_original = true;
      for (const std::string& path : got.original_paths) {
        bool transformed = false;
        for (const plan::PatchOperation& op : rule.transformation.operations) transformed |= op.path == path;
        if (!transformed) std::abort();
      }
    }
    if (!got.rule.SameAs(want)) std::abort();
  }
  if (i != spec->resources.size()) std::abort();
  return 0;
}
