// RFC 6902 JSON patch and RFC 7386 merge patch, with the error texts of the real
// kube-apiserver, which applies both with github.com/evanphx/json-patch (v4):
//   - a body that does not decode as a patch -> 400 BadRequest;
//   - an operation that does not apply, or a failed `test` -> 422, the library's error
//     text ("remove operation does not apply: doc is missing path: \"/a\": missing value",
//     "testing value /a failed: test failed") as the message.
#include <nlohmann/json.hpp>
#include <string>

#include "kubesync/emulator/patch.h"

namespace kubesync::emulator {
namespace {

using json = nlohmann::json;

Status BadRequest(std::string message) {
  Status s = InvalidArgumentError(std::move(message));
  s.WithHttp(400, "BadRequest");
  return s;
}

Status Unprocessable(std::string message) {
  Status s = InvalidArgumentError(std::move(message));
  s.WithHttp(422, "Invalid");
  return s;
}

// True when `pointer` resolves in `doc`.
bool Resolves(const json& doc, const std::string& pointer) {
  try {
    return doc.contains(json::json_pointer(pointer));
  } catch (const json::exception&) {
    return false;
  }
}

std::string ParentOf(const std::string& pointer) {
  auto slash = pointer.rfind('/');
  return slash == std::string::npos ? std::string() : pointer.substr(0, slash);
}

// The message evanphx/json-patch gives for `op` failing on `doc`.
std::string DescribeFailure(const json& doc, const std::string& op, const json& operation,
                            const std::string& library_message) {
  const std::string path = operation.value("path", "");
  const std::string from = operation.value("from", "");
  const bool parent_ok = path.empty() || Resolves(doc, ParentOf(path));
  if (op == "test") {
    return "testing value " + path + " failed: test failed";
  }
  if (op == "add") {
    if (!parent_ok) {
      return "add operation does not apply: doc is missing path: \"" + path + "\": missing value";
    }
    return "error in add for path: '" + path + "': " + library_message;
  }
  if (op == "remove") {
    return "remove operation does not apply: doc is missing path: \"" + path + "\": missing value";
  }
  if (op == "replace") {
    return std::string("replace operation does not apply: doc is missing ") +
           (parent_ok ? "key: " : "path: ") + path + ": missing value";
  }
  if (op == "move" || op == "copy") {
    if (!Resolves(doc, from)) {
      return op + " operation does not apply: doc is missing from path: " + from + ": missing value";
    }
    return op + " operation does not apply: doc is missing destination path: " + path + ": missing value";
  }
  return "Unexpected kind: " + op + ": unknown object type";
}

}  // namespace

Result<json> ApplyJsonPatch(const json& target, const json& patch) {
  if (!patch.is_array()) {
    return BadRequest(std::string("json: cannot unmarshal ") + patch.type_name() +
                      " into Go value of type jsonpatch.Patch");
  }
  // The real server caps a patch at 10000 operations (413).
  constexpr size_t kMaxOperations = 10000;
  if (patch.size() > kMaxOperations) {
    Status s = InvalidArgumentError("The allowed maximum operations in a JSON patch is 10000, got " +
                                    std::to_string(patch.size()));
    s.WithHttp(413, "RequestEntityTooLarge");
    return s;
  }
  json doc = target;
  for (const json& operation : patch) {
    if (!operation.is_object()) {
      return BadRequest(std::string("json: cannot unmarshal ") + operation.type_name() +
                        " into Go value of type jsonpatch.Operation");
    }
    const json* op_field = operation.contains("op") ? &operation.at("op") : nullptr;
    const std::string op = op_field != nullptr && op_field->is_string() ? op_field->get<std::string>() : "";
    if (op != "add" && op != "remove" && op != "replace" && op != "move" && op != "copy" && op != "test") {
      return Unprocessable("Unexpected kind: " + op + ": unknown object type");
    }
    if (!operation.contains("path") || !operation.at("path").is_string()) {
      return Unprocessable(op + " operation failed to decode path: missing value");
    }
    // nlohmann applies one operation at a time so a failure names the operation and its
    // path the way the real server does.
    try {
      doc = doc.patch(json::array({operation}));
    } catch (const json::exception& e) {
      return Unprocessable(DescribeFailure(doc, op, operation, e.what()));
    }
  }
  return doc;
}

Result<json> ApplyMergePatch(const json& target, const json& patch) {
  // evanphx MergePatch rejects a patch that is not an object with ErrBadJSONPatch (400).
  if (!patch.is_object()) {
    return BadRequest("Invalid JSON Patch");
  }
  json doc = target.is_object() ? target : json::object();
  doc.merge_patch(patch);
  return doc;
}

}  // namespace kubesync::emulator
