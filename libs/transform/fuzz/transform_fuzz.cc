// Fuzz target: arbitrary JSON through Classify, Clean, ForUpdate, ApplyTransformation, Mark
// and Restore must never crash, and a successful transformation must be exactly undone by
// its recorded originals (also through the annotation's wire form).
//
// Input: a JSON document. When it is {"object": ..., "ops": [...], "skip": bool}, those are
// the object and operations; otherwise the document is the object and a fixed set of
// common operations is used.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kubesync/kube/watch.h"
#include "kubesync/transform/classify.h"
#include "kubesync/transform/clean.h"
#include "kubesync/transform/mark.h"
#include "kubesync/transform/patch.h"

namespace {

using kubesync::plan::PatchOp;
using kubesync::plan::PatchOperation;
using nlohmann::json;
namespace tr = kubesync::transform;

std::vector<PatchOperation> OpsFrom(const json& ops) {
  std::vector<PatchOperation> out;
  for (const json& op : ops) {
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string() || !op.contains("path") ||
        !op["path"].is_string()) {
      continue;
    }
    const std::string name = op["op"].get<std::string>();
    PatchOp kind = name == "add" ? PatchOp::kAdd : name == "remove" ? PatchOp::kRemove : PatchOp::kReplace;
    out.push_back({kind, op["path"].get<std::string>(), op.contains("value") ? op["value"] : json()});
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return 0;
  }
  // Objects reach transform through the watch decoder, which refuses those nested deeper
  // than the API server allows (transform walks objects recursively).
  if (kubesync::kube::TooDeepPath(doc, kubesync::kube::kMaxObjectDepth)) {
    return 0;
  }
  json object = doc;
  std::vector<PatchOperation> ops = {{PatchOp::kReplace, "/spec/replicas", 0},
                                     {PatchOp::kAdd, "/metadata/labels/dr~1role", "standby"},
                                     {PatchOp::kRemove, "/spec/template/spec/containers/0", nullptr},
                                     {PatchOp::kAdd, "/spec/items/-", json::object()}};
  bool skip = true;
  if (doc.is_object() && doc.contains("object") && doc.contains("ops") && doc["ops"].is_array()) {
    object = doc["object"];
    ops = OpsFrom(doc["ops"]);
    skip = doc.value("skip", json(false)).is_boolean() && doc.value("skip", json(false)).get<bool>();
  }

  std::vector<kubesync::plan::Gvr> gvrs = {
      {"apps", "v1", "deployments"},   {"", "v1", "services"}, {"", "v1", "persistentvolumeclaims"},
      {"", "v1", "persistentvolumes"}, {"", "v1", "pods"},     {"", "v1", "serviceaccounts"},
      {"", "v1", "namespaces"},        {"", "v1", "secrets"},  {"", "v1", "endpoints"},
      {"batch", "v1", "jobs"}};
  // Objects near the API server's size limit (the mutation driver grows inputs to 3 MiB)
  // go through two kinds only, so a bounded fuzz run still tries many inputs.
  if (size > (256u << 10)) gvrs.resize(2);
  for (const auto& gvr : gvrs) {
    (void)tr::Classify(object, gvr);
    json cleaned = tr::Clean(object, gvr);
    json cleaned_keep = tr::Clean(object, gvr, {.keep_node_ports = true});
    (void)tr::ForUpdate(cleaned, object, gvr);
    (void)tr::ForUpdate(object, cleaned_keep, gvr);
    (void)tr::PvcNeedsUpdate(object, cleaned);

    auto transformed = tr::ApplyTransformation(cleaned, ops, skip);
    if (!transformed.ok()) {
      continue;
    }
    json restored = transformed->object;
    if (!tr::Restore(restored, transformed->originals).ok() || restored != cleaned) {
      std::abort();  // the undo log must give back exactly the input
    }
    auto wire = tr::OriginalsFromJson(tr::OriginalsToJson(transformed->originals));
    if (!wire.ok() || *wire != transformed->originals) {
      std::abort();
    }
    json marked = transformed->object;
    tr::Mark(marked, {"ns", "name", "uid", "1"}, transformed->originals);
    if (marked.is_object() &&
        (tr::RecordedContentHash(marked) != tr::ContentHash(marked) || !tr::IsManagedBy(marked, "ns.name"))) {
      std::abort();
    }
    (void)tr::RestoreFromAnnotation(marked);
  }
  return 0;
}
