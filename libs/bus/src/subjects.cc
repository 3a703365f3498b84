#include "kubesync/bus/subjects.h"

#include <cassert>
#include <string>

namespace kubesync::bus {
namespace {

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnumLower(s.front()) || !IsAlnumLower(s.back())) {
    return false;
  }
  for (const char c : s) {
    if (!IsAlnumLower(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!IsDnsLabel(label)) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

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
  if (!IsDnsLabel(out.ns)) {
    return InvalidArgumentError("live synchronization id \"" + std::string(id) +
                                "\": namespace is not a DNS label");
  }
  if (!IsDnsSubdomain(out.name)) {
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
