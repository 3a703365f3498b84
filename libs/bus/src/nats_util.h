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

// Nanoseconds, as JetStream durations travel in the API.
inline int64_t Nanos(std::chrono::nanoseconds d) { return static_cast<int64_t>(d.count()); }

}  // namespace kubesync::bus::internal
