// Building and parsing the kubesync.v1.Envelope carried on NATS subjects. A NATS payload is
// untrusted input: Decode validates every field and its errors name the bad one
// ("envelope.gvr.resource: required"), so a poisoned message can be logged and terminated
// instead of crashing or retrying forever.
//
// Callers work with the plain Event struct below; the generated protobuf class
// (kubesync/v1/event.pb.h) stays an implementation detail of the wire format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"

namespace kubesync::proto {

enum class EventType {
  kAdded,
  kModified,
  kDeleted,
  kResync,         // periodic full re-list (additive resync)
  kDeleteRequest,  // reconciler: managed destination object gone from the source
};

std::string_view EventTypeName(EventType type);  // "ADDED", "MODIFIED", ...

struct Gvr {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural: "deployments"
  friend bool operator==(const Gvr&, const Gvr&) = default;
};

struct Event {
  EventType type = EventType::kAdded;
  Gvr gvr;
  std::string kind;
  std::string namespace_;  // "" for cluster-scoped objects
  std::string name;
  std::string uid;
  // Source metadata.resourceVersion, verbatim, and parsed for ordering. Encode fills
  // resource_version_number from resource_version when it is 0.
  std::string resource_version;
  uint64_t resource_version_number = 0;
  int64_t observed_at_unix_nanos = 0;
  int64_t published_at_unix_nanos = 0;
  std::string live_synchronization_id;  // "<namespace>.<name>"
  std::string content_hash;
  std::string object_json;      // required for ADDED, MODIFIED and RESYNC
  std::string old_object_json;  // optional
  bool namespace_selected = false;  // the object's Namespace is itself replicated
  std::string namespace_labels_json;  // optional: the source Namespace's labels, for creating it
  bool verify_destination = false;    // reconciler: compare the destination's actual content
  uint64_t source_epoch = 0;          // the source cluster's epoch (libs/state source_identity.h); 0: unknown
  friend bool operator==(const Event&, const Event&) = default;
};

// Validates `event` (same rules as Decode) and serializes it. InvalidArgument naming the
// field when a rule fails.
Result<std::string> Encode(const Event& event);

// Parses and validates a payload. InvalidArgument with a message that starts with the path
// of the bad field ("envelope.resource_version: ...") or "envelope: ..." for bytes that
// are not a protobuf Envelope at all.
Result<Event> Decode(std::string_view payload);

// The rules Encode and Decode apply:
//  - type is one of the five kinds; gvr.version, gvr.resource, name and
//    live_synchronization_id ("<ns>.<name>") are required;
//  - resource_version is a decimal integer (up to 2^64-1) equal to resource_version_number;
//    it may be empty only for DELETE_REQUEST;
//  - object_json is required and must be a JSON object ("{...}") for ADDED, MODIFIED and
//    RESYNC. The JSON itself is parsed by the consumer.
Status Validate(const Event& event);

// Parses a decimal resourceVersion ("12345") as used for ordering.
Result<uint64_t> ParseResourceVersion(std::string_view text);

// "group/resource/namespace/name": the object key used for partitioning and Redis records.
std::string ObjectKey(const Event& event);

}  // namespace kubesync::proto
