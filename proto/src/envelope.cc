#include "kubesync/proto/envelope.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

#include "kubesync/v1/event.pb.h"

namespace kubesync::proto {
namespace {

constexpr size_t kMaxNameLength = 253;  // DNS subdomain, the longest Kubernetes name

Status FieldError(std::string_view field, std::string_view problem) {
  return InvalidArgumentError("envelope." + std::string(field) + ": " + std::string(problem));
}

// RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. proto3 string fields
// must hold UTF-8; protobuf would otherwise refuse the whole payload on the other side.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

Status CheckName(std::string_view field, const std::string& value, bool required) {
  if (!IsUtf8(value)) {
    return FieldError(field, "not valid UTF-8");
  }
  if (value.empty()) {
    return required ? FieldError(field, "required") : OkStatus();
  }
  if (value.size() > kMaxNameLength) {
    return FieldError(field, "longer than 253 characters");
  }
  for (const char c : value) {
    // Names, namespaces, groups and resources never contain '/', whitespace or control
    // characters; rejecting them keeps object keys and Redis keys unambiguous.
    if (c == '/' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return FieldError(field, "contains a character that is not allowed: \"" + value + "\"");
    }
  }
  return OkStatus();
}

bool LooksLikeJsonObject(std::string_view json) {
  const size_t first = json.find_first_not_of(" \t\r\n");
  const size_t last = json.find_last_not_of(" \t\r\n");
  return first != std::string_view::npos && json[first] == '{' && json[last] == '}';
}

v1::EventType ToWire(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return v1::EVENT_TYPE_ADDED;
    case EventType::kModified:
      return v1::EVENT_TYPE_MODIFIED;
    case EventType::kDeleted:
      return v1::EVENT_TYPE_DELETED;
    case EventType::kResync:
      return v1::EVENT_TYPE_RESYNC;
    case EventType::kDeleteRequest:
      return v1::EVENT_TYPE_DELETE_REQUEST;
  }
  return v1::EVENT_TYPE_UNSPECIFIED;
}

Result<EventType> FromWire(int type) {
  switch (type) {
    case v1::EVENT_TYPE_ADDED:
      return EventType::kAdded;
    case v1::EVENT_TYPE_MODIFIED:
      return EventType::kModified;
    case v1::EVENT_TYPE_DELETED:
      return EventType::kDeleted;
    case v1::EVENT_TYPE_RESYNC:
      return EventType::kResync;
    case v1::EVENT_TYPE_DELETE_REQUEST:
      return EventType::kDeleteRequest;
    default:
      break;
  }
  return FieldError("type", type == v1::EVENT_TYPE_UNSPECIFIED
                                ? "required (EVENT_TYPE_UNSPECIFIED)"
                                : "unknown event type " + std::to_string(type));
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
    case EventType::kResync:
      return "RESYNC";
    case EventType::kDeleteRequest:
      return "DELETE_REQUEST";
  }
  return "UNKNOWN";
}

Result<uint64_t> ParseResourceVersion(std::string_view text) {
  if (text.empty()) {
    return InvalidArgumentError("empty resourceVersion");
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return OutOfRangeError("resourceVersion \"" + std::string(text) + "\" does not fit in 64 bits");
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgumentError("resourceVersion \"" + std::string(text) + "\" is not a decimal integer");
  }
  return value;
}

Status Validate(const Event& event) {
  if (ToWire(event.type) == v1::EVENT_TYPE_UNSPECIFIED) {
    return FieldError("type", "unknown event type");
  }
  KS_RETURN_IF_ERROR(CheckName("gvr.group", event.gvr.group, false));
  KS_RETURN_IF_ERROR(CheckName("gvr.version", event.gvr.version, true));
  KS_RETURN_IF_ERROR(CheckName("gvr.resource", event.gvr.resource, true));
  KS_RETURN_IF_ERROR(CheckName("namespace", event.namespace_, false));
  KS_RETURN_IF_ERROR(CheckName("name", event.name, true));
  KS_RETURN_IF_ERROR(CheckName("live_synchronization_id", event.live_synchronization_id, true));
  const size_t dot = event.live_synchronization_id.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == event.live_synchronization_id.size()) {
    return FieldError("live_synchronization_id",
                      "\"" + event.live_synchronization_id + "\" is not <namespace>.<name>");
  }
  if (event.resource_version.empty()) {
    if (event.type != EventType::kDeleteRequest) {
      return FieldError("resource_version", "required");
    }
    if (event.resource_version_number != 0) {
      return FieldError("resource_version_number", "set while resource_version is empty");
    }
  } else {
    auto rv = ParseResourceVersion(event.resource_version);
    if (!rv.ok()) {
      return FieldError("resource_version", rv.status().message());
    }
    if (*rv != event.resource_version_number) {
      return FieldError("resource_version_number", std::to_string(event.resource_version_number) +
                                                       " does not match resource_version \"" +
                                                       event.resource_version + "\"");
    }
  }
  if (event.observed_at_unix_nanos < 0) {
    return FieldError("observed_at_unix_nanos", "negative");
  }
  if (event.published_at_unix_nanos < 0) {
    return FieldError("published_at_unix_nanos", "negative");
  }
  const bool needs_object = event.type == EventType::kAdded || event.type == EventType::kModified ||
                            event.type == EventType::kResync;
  if (needs_object && event.object_json.empty()) {
    return FieldError("object_json",
                      std::string("required for ") + std::string(EventTypeName(event.type)) + " events");
  }
  if (!event.object_json.empty() && !LooksLikeJsonObject(event.object_json)) {
    return FieldError("object_json", "not a JSON object");
  }
  if (!event.old_object_json.empty() && !LooksLikeJsonObject(event.old_object_json)) {
    return FieldError("old_object_json", "not a JSON object");
  }
  return OkStatus();
}

Result<std::string> Encode(const Event& input) {
  Event event = input;
  if (event.resource_version_number == 0 && !event.resource_version.empty()) {
    auto rv = ParseResourceVersion(event.resource_version);
    if (!rv.ok()) {
      return FieldError("resource_version", rv.status().message());
    }
    event.resource_version_number = *rv;
  }
  KS_RETURN_IF_ERROR(Validate(event));
  v1::Envelope wire;
  wire.set_type(ToWire(event.type));
  wire.mutable_gvr()->set_group(event.gvr.group);
  wire.mutable_gvr()->set_version(event.gvr.version);
  wire.mutable_gvr()->set_resource(event.gvr.resource);
  wire.set_kind(event.kind);
  wire.set_namespace_(event.namespace_);
  wire.set_name(event.name);
  wire.set_uid(event.uid);
  wire.set_resource_version(event.resource_version);
  wire.set_resource_version_number(event.resource_version_number);
  wire.set_observed_at_unix_nanos(event.observed_at_unix_nanos);
  wire.set_published_at_unix_nanos(event.published_at_unix_nanos);
  wire.set_live_synchronization_id(event.live_synchronization_id);
  wire.set_content_hash(event.content_hash);
  wire.set_object_json(event.object_json);
  wire.set_old_object_json(event.old_object_json);
  wire.set_namespace_selected(event.namespace_selected);
  wire.set_namespace_labels_json(event.namespace_labels_json);
  wire.set_verify_destination(event.verify_destination);
  wire.set_source_epoch(event.source_epoch);
  std::string out;
  if (!wire.SerializeToString(&out)) {
    return InternalError("envelope: serialization failed");
  }
  return out;
}

Result<Event> Decode(std::string_view payload) {
  if (payload.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return InvalidArgumentError("envelope: payload too large");
  }
  v1::Envelope wire;
  if (!wire.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return InvalidArgumentError("envelope: not a valid kubesync.v1.Envelope protobuf (" +
                                std::to_string(payload.size()) + " bytes)");
  }
  Event event;
  KS_ASSIGN_OR_RETURN(event.type, FromWire(wire.type()));
  event.gvr.group = wire.gvr().group();
  event.gvr.version = wire.gvr().version();
  event.gvr.resource = wire.gvr().resource();
  event.kind = wire.kind();
  event.namespace_ = wire.namespace_();
  event.name = wire.name();
  event.uid = wire.uid();
  event.resource_version = wire.resource_version();
  event.resource_version_number = wire.resource_version_number();
  event.observed_at_unix_nanos = wire.observed_at_unix_nanos();
  event.published_at_unix_nanos = wire.published_at_unix_nanos();
  event.live_synchronization_id = wire.live_synchronization_id();
  event.content_hash = wire.content_hash();
  event.object_json = std::move(*wire.mutable_object_json());
  event.old_object_json = std::move(*wire.mutable_old_object_json());
  event.namespace_selected = wire.namespace_selected();
  event.namespace_labels_json = std::move(*wire.mutable_namespace_labels_json());
  event.verify_destination = wire.verify_destination();
  event.source_epoch = wire.source_epoch();
  KS_RETURN_IF_ERROR(Validate(event));
  return event;
}

std::string ObjectKey(const Event& event) {
  std::string key;
  key.reserve(event.gvr.group.size() + event.gvr.resource.size() + event.namespace_.size() +
              event.name.size() + 3);
  key.append(event.gvr.group).append("/").append(event.gvr.resource).append("/");
  key.append(event.namespace_).append("/").append(event.name);
  return key;
}

}  // namespace kubesync::proto
