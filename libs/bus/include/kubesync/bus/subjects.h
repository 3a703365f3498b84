// Names on the bus for one LiveSynchronization `<namespace>.<name>` (its "id"), and the
// partitioning of objects over synchronizer subjects. Pure functions; no NATS needed.
//
//   stream:   KUBESYNC_<namespace>_<name with '.' -> '_'>
//   subjects: kubesync.<namespace>.<name with '.' -> '_'>.events
//             kubesync.<namespace>.<name with '.' -> '_'>.sync.<partition>
//
// JetStream stream names cannot contain '.', '*', '>' or whitespace. A namespace is a DNS
// label ([a-z0-9-]) and a LiveSynchronization name a DNS subdomain ([a-z0-9.-]); neither
// contains '_', so writing the name's dots as '_' is reversible and the first '_' after
// the prefix always ends the namespace. The same escaping keeps subjects at exactly two id
// tokens, so "a.b" and "a.b.sync" can never capture each other's subjects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"

namespace kubesync::bus {

// The parts of a LiveSynchronization id "<namespace>.<name>".
struct SyncId {
  std::string ns;
  std::string name;
};

// Splits and checks an id: InvalidArgument "live synchronization id ...: ..." when the
// namespace is not a DNS label or the name not a DNS subdomain.
Result<SyncId> ParseSyncId(std::string_view id);

// "KUBESYNC_<ns>_<name, '.' as '_'>"; the id must be valid.
Result<std::string> StreamName(std::string_view id);
// "kubesync.<ns>.<name, '.' as '_'>" (the common prefix of every subject of the id).
Result<std::string> SubjectPrefix(std::string_view id);
Result<std::string> EventsSubject(std::string_view id);
Result<std::string> SyncSubject(std::string_view id, int partition);
// "kubesync.<...>.sync.*": every partition.
Result<std::string> SyncWildcard(std::string_view id);

// FNV-1a, 64 bit (offset basis 14695981039346656037, prime 1099511628211).
uint64_t Fnv1a64(std::string_view data);

// The synchronizer partition of an object: Fnv1a64("group/resource/namespace/name") % n
// (core group "", cluster-scoped namespace ""; proto::ObjectKey builds that key). Stable
// across processes, versions and machines: replicas agree without talking. n must be > 0.
int Partition(std::string_view object_key, int partitions);

}  // namespace kubesync::bus
