#include "kubesync/transform/mark.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <memory>
#include <utility>

namespace kubesync::transform {
namespace {

using nlohmann::json;

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest is the one-shot form of EVP_DigestInit/Update/Final.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string Canonical(const json& obj) {
  // nlohmann's default object type is a std::map, so keys are always dumped sorted. Invalid
  // UTF-8 is replaced instead of throwing.
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

const std::string* StringAt(const json& obj, std::string_view section, std::string_view key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return nullptr;
  }
  auto sec = meta->find(section);
  if (sec == meta->end() || !sec->is_object()) {
    return nullptr;
  }
  auto it = sec->find(key);
  if (it == sec->end() || !it->is_string()) {
    return nullptr;
  }
  return it->get_ptr<const std::string*>();
}

json& Section(json& obj, const char* section) {
  json& meta = obj["metadata"];
  if (!meta.is_object()) {
    meta = json::object();
  }
  json& sec = meta[section];
  if (!sec.is_object()) {
    sec = json::object();
  }
  return sec;
}

constexpr size_t kMaxLabelValue = 63;

}  // namespace

std::string LiveSynchronizationId(std::string_view ls_namespace, std::string_view ls_name) {
  if (ls_namespace.empty()) {
    return std::string(ls_name);
  }
  return std::string(ls_namespace) + "." + std::string(ls_name);
}

std::string LabelValueForId(std::string_view id) {
  bool valid = id.size() <= kMaxLabelValue && (id.empty() || (IsAlnum(id.front()) && IsAlnum(id.back())));
  for (char c : id) {
    valid = valid && IsLabelChar(c);
  }
  if (valid) {
    return std::string(id);
  }
  // Namespaces and names are DNS labels/subdomains, so only length normally gets here;
  // anything else is replaced so that the result is still a valid label value.
  std::string prefix;
  for (char c : id.substr(0, kMaxLabelValue - 9)) {
    prefix += IsLabelChar(c) ? c : '-';
  }
  while (!prefix.empty() && !IsAlnum(prefix.back())) {
    prefix.pop_back();
  }
  while (!prefix.empty() && !IsAlnum(prefix.front())) {
    prefix.erase(0, 1);
  }
  std::string hash = Sha256Hex(id).substr(0, 8);
  return prefix.empty() ? hash : prefix + "-" + hash;
}

std::string ContentHash(const json& obj) {
  const bool volatile_marks = StringAt(obj, "annotations", kSourceResourceVersionAnnotation) != nullptr ||
                              StringAt(obj, "annotations", kContentHashAnnotation) != nullptr;
  if (!volatile_marks) {
    return Sha256Hex(Canonical(obj));
  }
  json copy = obj;
  json& annotations = copy["metadata"]["annotations"];
  annotations.erase(std::string(kSourceResourceVersionAnnotation));
  annotations.erase(std::string(kContentHashAnnotation));
  return Sha256Hex(Canonical(copy));
}

std::string RecordedContentHash(const json& obj) {
  const std::string* hash = StringAt(obj, "annotations", kContentHashAnnotation);
  return hash == nullptr ? std::string() : *hash;
}

void Mark(json& obj, const MarkInfo& info, const Originals& originals) {
  if (!obj.is_object()) {
    return;
  }
  const std::string id = LiveSynchronizationId(info.ls_namespace, info.ls_name);
  Section(obj, "labels")[std::string(kManagedByLabel)] = LabelValueForId(id);
  json& annotations = Section(obj, "annotations");
  annotations[std::string(kLiveSynchronizationAnnotation)] =
      info.ls_namespace.empty() ? info.ls_name : info.ls_namespace + "/" + info.ls_name;
  annotations[std::string(kSourceUidAnnotation)] = info.source_uid;
  if (originals.empty()) {
    annotations.erase(std::string(kOriginalValuesAnnotation));
  } else {
    annotations[std::string(kOriginalValuesAnnotation)] = Canonical(OriginalsToJson(originals));
  }
  // Hash before the per-write annotations exist: same result as ContentHash(obj) after
  // they are set, without copying the object.
  annotations.erase(std::string(kSourceResourceVersionAnnotation));
  annotations.erase(std::string(kContentHashAnnotation));
  std::string hash = Sha256Hex(Canonical(obj));
  json& marked = obj["metadata"]["annotations"];
  marked[std::string(kSourceResourceVersionAnnotation)] = info.source_resource_version;
  marked[std::string(kContentHashAnnotation)] = std::move(hash);
}

bool IsManagedBy(const json& obj, std::string_view id) {
  const std::string* label = StringAt(obj, "labels", kManagedByLabel);
  const std::string* owner = StringAt(obj, "annotations", kLiveSynchronizationAnnotation);
  if (label == nullptr || owner == nullptr || *label != LabelValueForId(id)) {
    return false;
  }
  // The annotation is "<namespace>/<name>"; the id "<namespace>.<name>". Namespaces hold no
  // dots, so the first '/' maps to the first '.'.
  std::string expected(id);
  size_t slash = owner->find('/');
  std::string owner_id = *owner;
  if (slash != std::string::npos) {
    owner_id[slash] = '.';
  }
  return owner_id == expected;
}

Status RestoreFromAnnotation(json& obj) {
  const std::string* wire = StringAt(obj, "annotations", kOriginalValuesAnnotation);
  if (wire == nullptr) {
    return OkStatus();
  }
  json parsed = json::parse(*wire, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return InvalidArgumentError(std::string(kOriginalValuesAnnotation) + ": not valid JSON");
  }
  KS_ASSIGN_OR_RETURN(Originals originals, OriginalsFromJson(parsed));
  obj["metadata"]["annotations"].erase(std::string(kOriginalValuesAnnotation));
  return Restore(obj, originals);
}

}  // namespace kubesync::transform
