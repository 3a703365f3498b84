// Fuzz target over the YAML entry point of the plan parser: any input must yield a plan or
// an InvalidArgument error, never a crash, hang or exception (likewise the validation of the
// other automation objects). A plan that parses must survive the JSON round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kubesync/plan/parse.h"
#include "kubesync/plan/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kubesync::plan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseReport validation;
  const kubesync::Status valid = ValidateAutomationYaml(text, &validation);
  if (valid.ok() != validation.errors.empty()) std::abort();

  ParseReport report;
  auto plan = ParseLiveSynchronizationYaml(text, {}, &report);
  if (!plan.ok()) {
    if (plan.status().code() != kubesync::Code::kInvalidArgument || report.errors.empty()) std::abort();
    return 0;
  }
  auto again = FromJson(ToJson(*plan));
  if (!again.ok() || !again->Equivalent(*plan)) std::abort();
  return 0;
}
