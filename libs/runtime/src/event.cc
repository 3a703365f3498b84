#include "kubesync/runtime/runtime.h"

namespace kubesync::runtime {

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kStarted:
      return "Started";
    case EventKind::kExited:
      return "Exited";
    case EventKind::kRestarted:
      return "Restarted";
    case EventKind::kGaveUp:
      return "GaveUp";
    case EventKind::kStopped:
      return "Stopped";
    case EventKind::kJobFinished:
      return "JobFinished";
  }
  return "Unknown";
}

}  // namespace kubesync::runtime
