// Fuzz target: the webhook's answer to any request body (AnswerReviewBody, what the HTTP
// server calls) must come without a throw or crash, whatever the size or nesting (up to the
// server's body limit, twice kMaxReviewBytes: run the mutation driver with inputs that
// large and deeply nested). A 200 answer is an AdmissionReview echoing request.uid: either
// denied with a 400/413 status naming the problem, or allowed, and when it patches, the
// patch must be valid base64 JSONPatch that applies to request.object and leaves the three
// audit annotations as strings. Any other answer is a v1 Status.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const FixedClock clock;
  const kubesync::admission::ReviewReply reply = kubesync::admission::AnswerReviewBody(body, clock);
  if (reply.http_status != 200) {
    Check(reply.http_status == 400 || reply.http_status == 413);
    Check(reply.body.at("kind") == "Status" && reply.body.at("code") == reply.http_status);
    Check(!reply.refusal.empty());
    return 0;
  }
  Check(reply.body.at("kind") == "AdmissionReview");
  const json& response = reply.body.at("response");
  Check(response.at("uid").is_string() && !response.at("uid").get<std::string>().empty());
  if (response.at("allowed") == false) {
    const json& status = response.at("status");
    Check(status.at("code") == 400 || status.at("code") == 413);
    Check(!status.at("message").get<std::string>().empty());
    Check(!response.contains("patch") && !reply.refusal.empty());
    return 0;
  }
  Check(response.at("allowed") == true);
  // Within the bounds now, so the document may be built and walked.
  const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  Check(!review.is_discarded());
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
