// Turning cnats results into kubesync::Status (private to libs/bus).
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"

namespace kubesync::bus::internal {

// `what` names the operation ("publish to kubesync.a.b.events"). The message carries the
// cnats text, the JetStream error code when there is one, and cnats' last error detail.
Status ToStatus(natsStatus s, std::string_view what, jsErrCode jerr = static_cast<jsErrCode>(0));

// kInvalidArgument with reason kReasonMessageTooLarge: "<what>: message of N bytes exceeds
// the limit of M bytes (<limit_name>)".
Status TooLargeError(std::string_view what, int64_t size, int64_t limit, std::string_view limit_name);

// Bytes a message takes against the server's max_payload: data plus the header block
// carrying Nats-Msg-Id ("NATS/1.0\r\nNats-Msg-Id: <id>\r\n\r\n").
int64_t WireSize(std::string_view data, std::string_view msg_id);

// Nanoseconds, as JetStream durations travel in the API.
inline int64_t Nanos(std::chrono::nanoseconds d) { return static_cast<int64_t>(d.count()); }

}  // namespace kubesync::bus::internal
