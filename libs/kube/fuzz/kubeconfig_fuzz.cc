// Fuzz target: Kubeconfig::Parse must turn any bytes into a config or an error, never
// crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kubesync/kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  kubesync::Result<kubesync::kube::Kubeconfig> config = kubesync::kube::Kubeconfig::Parse(text);
  if (!config.ok()) {
    return 0;
  }
  // Resolve contexts only when no file is referenced (the fuzzer must not read /dev/zero).
  for (const auto& c : config->clusters()) {
    if (!c.value.certificate_authority.empty()) {
      return 0;
    }
  }
  for (const auto& u : config->users()) {
    if (!u.value.client_certificate.empty() || !u.value.client_key.empty()) {
      return 0;
    }
  }
  for (const auto& ctx : config->contexts()) {
    (void)config->ToRestConfig(ctx.name);
  }
  (void)config->ToRestConfig();
  return 0;
}
