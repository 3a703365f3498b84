// Fuzz target for the envelope decoder: any byte string must give an Event or an
// InvalidArgument naming a field, never a crash; what decodes must re-encode and decode to
// the same Event.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kubesync/proto/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  auto event = kubesync::proto::Decode(payload);
  if (!event.ok()) {
    if (event.status().code() != kubesync::Code::kInvalidArgument ||
        event.status().message().rfind("envelope", 0) != 0) {
      std::abort();
    }
    return 0;
  }
  auto encoded = kubesync::proto::Encode(*event);
  if (!encoded.ok()) {
    std::abort();
  }
  auto again = kubesync::proto::Decode(*encoded);
  if (!again.ok() || !(*again == *event)) {
    std::abort();
  }
  return 0;
}
