// The webhook's answer to a raw request body: a streaming scan (no document built, no
// recursion) bounds size and depth before nlohmann builds the document Review() walks.
#include <algorithm>
#include <string>
#include <vector>

#include "kubesync/admission/audit.h"

namespace kubesync::admission {
namespace {

using nlohmann::json;

constexpr std::string_view kAdmissionV1beta1 = "admission.k8s.io/v1beta1";
// A path in a message: each key cut to this many bytes, the whole path to kMaxPathBytes.
constexpr std::size_t kMaxKeyBytes = 64;
constexpr std::size_t kMaxPathBytes = 1024;

// What the scan learns without building the document: the depth, the path of the first
// container past kMaxReviewDepth, and the two fields a refusal needs (apiVersion and
// request.uid, as the DOM parser would keep them: the last of duplicate keys).
class ReviewScan final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool string(string_t& value) override {
    if (frames_.size() == 1 && !frames_[0].array && frames_[0].key == "apiVersion") api_version = value;
    if (InRequest()) {
      const std::string& k = frames_[1].key;
      if (k == "uid") uid = value;
      if (k == "namespace") namespace_ = value;
      if (k == "name") name = value;
    }
    return Value();
  }
  bool start_object(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(true); }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override {
    if (depth_ <= kMaxReviewDepth) frames_.back().key = k.substr(0, kMaxKeyBytes);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    syntax_error = true;
    return false;
  }

  std::size_t max_depth = 0;
  std::string too_deep_path;  // "" while within kMaxReviewDepth
  bool syntax_error = false;
  std::string api_version;
  std::string uid;
  std::string namespace_;
  std::string name;

 private:
  struct Frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
  };

  // Directly inside the top-level object's "request" object.
  bool InRequest() const {
    return frames_.size() == 2 && !frames_[0].array && frames_[0].key == "request" && !frames_[1].array;
  }

  // A scalar (or a closed container) fills the current slot of its parent array.
  bool Value() {
    if (!frames_.empty() && depth_ <= kMaxReviewDepth && frames_.back().array) ++frames_.back().index;
    return true;
  }
  bool Open(bool array) {
    ++depth_;
    max_depth = std::max(max_depth, depth_);
    if (depth_ > kMaxReviewDepth) {
      if (too_deep_path.empty()) too_deep_path = Path();
      return true;
    }
    frames_.push_back({array, 0, ""});
    return true;
  }
  bool Close() {
    if (depth_ <= kMaxReviewDepth) frames_.pop_back();
    --depth_;
    return Value();
  }
  std::string Path() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.array) {
        out += "[" + std::to_string(f.index) + "]";
      } else {
        out += (out.empty() ? "" : ".") + f.key;
      }
      if (out.size() > kMaxPathBytes) return out.substr(0, kMaxPathBytes) + "...";
    }
    return out;
  }

  std::size_t depth_ = 0;
  // One per open container up to kMaxReviewDepth: the key or index being read in it.
  std::vector<Frame> frames_;
};

json Status(int code, std::string_view reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
          {"reason", reason}, {"message", message}, {"code", code}};
}

// An AdmissionReview that denies the request with a status (the API server shows
// status.message to the client and the write fails).
json Denial(const ReviewScan& scan, int code, std::string_view reason, const std::string& message) {
  const std::string api_version =
      scan.api_version == kAdmissionV1beta1 ? std::string(kAdmissionV1beta1) : "admission.k8s.io/v1";
  return {{"apiVersion", api_version},
          {"kind", "AdmissionReview"},
          {"response",
           {{"uid", scan.uid},
            {"allowed", false},
            {"status", {{"status", "Failure"}, {"code", code}, {"reason", reason}, {"message", message}}}}}};
}

std::string ObjectRef(const ReviewScan& scan) {
  return scan.namespace_.empty() ? scan.name : scan.namespace_ + "/" + scan.name;
}

}  // namespace

ReviewReply AnswerReviewBody(std::string_view body, const Clock& clock) {
  ReviewReply reply;
  ReviewScan scan;
  // The SAX parser keeps one bit per open container and never recurses.
  (void)json::sax_parse(body.begin(), body.end(), &scan, nlohmann::detail::input_format_t::json,
                        /*strict=*/true, /*ignore_comments=*/false);
  reply.object = ObjectRef(scan);
  if (body.size() > kMaxReviewBytes) {
    const std::string message = "the AdmissionReview (" + std::to_string(body.size()) +
                                " bytes) is larger than the limit of " + std::to_string(kMaxReviewBytes) +
                                " bytes";
    reply.refusal = message;
    if (scan.uid.empty()) {
      reply.http_status = 413;
      reply.body = Status(413, "RequestEntityTooLarge", message);
    } else {
      reply.body = Denial(scan, 413, "RequestEntityTooLarge", message);
    }
    return reply;
  }
  if (scan.syntax_error) {
    reply.http_status = 400;
    reply.refusal = "body is not JSON";
    reply.body = Status(400, "BadRequest", "the request body is not a JSON AdmissionReview");
    return reply;
  }
  if (!scan.too_deep_path.empty()) {
    const std::string message = scan.too_deep_path + ": nested more than " + std::to_string(kMaxReviewDepth) +
                                " levels deep (" + std::to_string(scan.max_depth) +
                                "); kubesync's audit webhook refuses such objects";
    reply.refusal = message;
    if (scan.uid.empty()) {
      reply.http_status = 400;
      reply.body = Status(400, "BadRequest", message);
    } else {
      reply.body = Denial(scan, 400, "BadRequest", message);
    }
    return reply;
  }
  const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (review.is_discarded()) {  // the scan accepted it, so this is not expected
    reply.http_status = 400;
    reply.refusal = "body is not JSON";
    reply.body = Status(400, "BadRequest", "the request body is not a JSON AdmissionReview");
    return reply;
  }
  // Without request.uid no reply can be matched to the call (the API server checks
  // response.uid), so the call fails and the webhook's failurePolicy decides.
  if (!RequestUid(review)) {
    reply.http_status = 400;
    reply.refusal = "no request.uid";
    reply.body = Status(400, "BadRequest", "the AdmissionReview has no request.uid");
    return reply;
  }
  reply.body = Review(review, clock);
  return reply;
}

}  // namespace kubesync::admission
