// Fuzz target: Review() on any JSON document must answer (never throw or crash), always
// allow, echo request.uid, and when it patches, the patch must be valid base64 JSONPatch
// that applies to request.object and leaves the three audit annotations as strings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "kubesync/admission/audit.h"
#include "kubesync/core/base64.h"

namespace {

class FixedClock final : public kubesync::Clock {
 public:
  kubesync::WallTime Now() const override {
    return kubesync::WallTime(std::chrono::nanoseconds(1'707'487'530'675'205'250));
  }
  kubesync::MonoTime SteadyNow() const override { return kubesync::MonoTime(); }
  void SleepFor(std::chrono::nanoseconds) const override {}
};

void Check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  const json review = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (review.is_discarded()) {
    return 0;
  }
  const FixedClock clock;
  const json answer = kubesync::admission::Review(review, clock);
  const json& response = answer.at("response");
  Check(response.at("allowed") == true);
  Check(response.at("uid") == kubesync::admission::RequestUid(review).value_or(""));
  if (!response.contains("patch")) {
    Check(!response.contains("patchType"));
    return 0;
  }
  Check(response.at("patchType") == "JSONPatch");
  const auto bytes = kubesync::Base64Decode(response.at("patch").get<std::string>());
  Check(bytes.has_value());
  const json patch = json::parse(*bytes, nullptr, false);
  Check(patch.is_array());
  try {
    const json patched = review.at("request").at("object").patch(patch);
    const json& annotations = patched.at("metadata").at("annotations");
    for (const char* key :
         {"audit.astronetes.io/last-update-time", "audit.astronetes.io/last-update-user-uid",
          "audit.astronetes.io/last-update-username"}) {
      Check(annotations.at(key).is_string());
    }
  } catch (const json::exception&) {
    std::abort();
  }
  return 0;
}
