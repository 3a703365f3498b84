#include "kubesync/bus/subjects.h"

#include <cassert>
#include <string>

#include "kubesync/core/names.h"

namespace kubesync::bus {
namespace {

std::string EscapedName(const SyncId& id) {
  std::string out = id.name;
  for (char& c : out) {
    if (c == '.') {
      c = '_';
    }
  }
  return out;
}

}  // namespace

Result<SyncId> ParseSyncId(std::string_view id) {
  const size_t dot = id.find('.');
  if (dot == std::string_view::npos) {
    return InvalidArgumentError("live synchronization id \"" + std::string(id) +
                                "\": want <namespace>.<name>");
  }
  SyncId out{std::string(id.substr(0, dot)), std::string(id.substr(dot + 1))};
  if (!names::IsDns1123Label(out.ns)) {
    return InvalidArgumentError("live synchronization id \"" + std::string(id) +
                                "\": namespace is not a DNS label");
  }
  if (!names::IsDns1123Subdomain(out.name)) {
    return InvalidArgumentError("live synchronization id \"" + std::string(id) +
                                "\": name is not a DNS subdomain");
  }
  return out;
}

Result<std::string> StreamName(std::string_view id) {
  KS_ASSIGN_OR_RETURN(SyncId parsed, ParseSyncId(id));
  return "KUBESYNC_" + parsed.ns + "_" + EscapedName(parsed);
}

Result<std::string> SubjectPrefix(std::string_view id) {
  KS_ASSIGN_OR_RETURN(SyncId parsed, ParseSyncId(id));
  return "kubesync." + parsed.ns + "." + EscapedName(parsed);
}

Result<std::string> EventsSubject(std::string_view id) {
  KS_ASSIGN_OR_RETURN(std::string prefix, SubjectPrefix(id));
  return prefix + ".events";
}

Result<std::string> SyncSubject(std::string_view id, int partition) {
  if (partition < 0) {
    return InvalidArgumentError("partition " + std::to_string(partition) + " is negative");
  }
  KS_ASSIGN_OR_RETURN(std::string prefix, SubjectPrefix(id));
  return prefix + ".sync." + std::to_string(partition);
}

Result<std::string> SyncWildcard(std::string_view id) {
  KS_ASSIGN_OR_RETURN(std::string prefix, SubjectPrefix(id));
  return prefix + ".sync.*";
}

uint64_t Fnv1a64(std::string_view data) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

int Partition(std::string_view object_key, int partitions) {
  assert(partitions > 0);
  return static_cast<int>(Fnv1a64(object_key) % static_cast<uint64_t>(partitions));
}

}  // namespace kubesync::bus
